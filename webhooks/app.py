"""The FastAPI app: platform webhooks, the admin page, health, readiness and metrics."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.logs import failure
from scheduler.jobs import start_scheduler
from webhooks import admin, metrics
from webhooks.config import Settings, get_settings
from webhooks.container import Pau, build
from webhooks.telegram_webhook import router as telegram_router
from webhooks.whatsapp_webhook import router as whatsapp_router

log = logging.getLogger(__name__)


class QuietErrors:
    """An unexpected error in a request: one failure line and a 500, not uvicorn's traceback,
    whose exception message may quote the learner's text (PAU_DEBUG_LOGS adds the traceback)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as error:
            failure(log, "request", error=error, level=logging.ERROR, path=scope.get("path"))
            if not started:
                response = JSONResponse({"ok": False, "error": "internal error"}, status_code=500)
                await response(scope, receive, send)


def create_app(
    settings: Settings | None = None, *, pau: Pau | None = None, scheduler: bool = True
) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pau = pau or build(settings)
        jobs = start_scheduler(app.state.pau) if scheduler else None
        app.state.scheduler = jobs
        try:
            yield
        finally:
            if jobs is not None:
                jobs.shutdown(wait=False)
            await app.state.pau.stop_channels()
            if pau is None:
                app.state.pau.close()

    app = FastAPI(title="PAU", lifespan=lifespan, docs_url=None, redoc_url=None)
    if pau is not None:
        app.state.pau = pau  # usable without the lifespan too (in-process test clients)

    app.add_middleware(QuietErrors)
    app.include_router(telegram_router)
    app.include_router(whatsapp_router)
    metrics.expose(app)
    admin.mount(app)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        checks = app.state.pau.readiness()
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)

    return app
