"""The FastAPI app: platform webhooks, health, readiness and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from scheduler.jobs import start_scheduler
from webhooks import metrics
from webhooks.config import Settings, get_settings
from webhooks.container import Pau, build
from webhooks.telegram_webhook import router as telegram_router


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

    app.include_router(telegram_router)
    metrics.expose(app)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        checks = app.state.pau.readiness()
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)

    return app
