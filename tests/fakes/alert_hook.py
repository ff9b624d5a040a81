"""A fake of the mentors' alert webhook (PAU_MENTOR_ALERT_URL): it keeps what it was sent and
can answer errors first, to show that a failed ping is tried again."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.loopback import LoopbackServer


class FakeAlertHook(LoopbackServer):
    def __init__(self, *, fail_first: int = 0) -> None:
        self.received: list[dict[str, Any]] = []
        self.refused = 0
        self.fail_first = fail_first
        super().__init__(Starlette(routes=[Route("/alert", self.alert, methods=["POST"])]))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/alert"

    async def alert(self, request: Request) -> JSONResponse:
        if self.refused < self.fail_first:
            self.refused += 1
            return JSONResponse({"ok": False}, status_code=503)
        self.received.append(await request.json())
        return JSONResponse({"ok": True})
