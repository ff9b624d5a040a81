"""A Starlette app served on 127.0.0.1 by uvicorn in a background thread: the lifecycle the fake
platform APIs (telegram_api.py, graph_api.py) share.

    class FakeSomething(LoopbackServer):
        def __init__(self) -> None:
            super().__init__(Starlette(routes=[...]))

    with FakeSomething() as fake:
        ... fake.port ...
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Self

import uvicorn
from starlette.applications import Starlette


class LoopbackServer:
    """`lifespan="on"` runs the app's start-up and shut-down too (PAU's own app: the scheduler)."""

    def __init__(self, app: Starlette, *, lifespan: str = "off") -> None:
        self._app = app
        self._lifespan = lifespan
        self._stopping = threading.Event()  # set while stopping: delayed answers cut short
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._socket.getsockname()[1])

    def start(self) -> Self:
        name = type(self).__name__
        if self._thread is not None:
            raise RuntimeError(f"{name} is already started")
        self._stopping.clear()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            self._app, lifespan=self._lifespan, ws="none", log_config=None, log_level="warning",
            access_log=False, timeout_graceful_shutdown=1,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]},
            name=f"{name}:{self.port}", daemon=True,
        )  # fmt: skip
        self._thread.start()
        deadline = time.monotonic() + 5.0
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{name} did not start")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        """Stop the server and join its thread; delayed answers are cut short. Idempotent."""
        self._stopping.set()
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5.0)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout=5.0)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
