"""A PostgreSQL database of a benchmark run's own, beside the server's URL it is given, dropped
when the run ends: two runs on one machine never share one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from storage.db import make_engine


@contextmanager
def scratch_postgres(server_url: str, prefix: str) -> Iterator[str]:
    """A fresh database `<prefix>_<pid>_<random>` on `server_url`'s server; yields its URL."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _run(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield (
            sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)
        )
    finally:
        _run(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(server_url: str, statement: str) -> None:
    admin = make_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(statement)
    admin.dispose()
