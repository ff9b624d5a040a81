"""kill -9 under load, on SQLite and PostgreSQL: no accepted update and no reply is lost, and
duplicates stay within what can be in flight at the moment of a kill.

A real `pau serve` in a child process, twenty Telegram learners onboarding through it (160
updates), killed with SIGKILL three times while they write and started again each time; the
fake Bot API lives in the test process, so it sees everything the server sent across the kills.
Issue 8 saw 5 duplicates in 6,120 replies, resent a minute after a crash (the lease then).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.delivery import CONCURRENCY, LEASE_SECONDS
from tests.conftest import empty_postgres
from tests.fakes.telegram_api import FakeBotApi
from tests.load import Load, Server, count_replies, settle

LEARNERS = 20
KILLS = 3


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_kill_9_under_load_loses_nothing_and_duplicates_only_what_was_in_flight(
    backend: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/load.db" if backend == "sqlite" else empty_postgres()
    with FakeBotApi() as fake:
        server = Server(url, fake, tmp_path)
        server.start()
        try:
            load = Load(server, fake, LEARNERS, patience=LEASE_SECONDS + 10)
            result = await load.run(kills=KILLS, kill_every=2.0)
            unsettled = settle(url)
            count_replies(url, fake, load.learners, result)
        finally:
            server.stop()
    print(f"{backend}: {result.updates} updates, {result.replies} replies, {server.kills} kills: "
          f"{result.lost} lost, {result.duplicated} duplicated")  # fmt: skip
    assert server.kills == KILLS
    assert result.updates == LEARNERS * 8 and result.replies >= result.updates
    assert unsettled == 0, "updates unprocessed or replies still pending"
    assert result.lost == 0
    # a reply is sent twice only if the kill fell between the Bot API's answer and the commit
    # of "sent": at most the sends in flight at each kill
    assert result.duplicated <= KILLS * CONCURRENCY
