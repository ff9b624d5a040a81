"""The admin web page for mentors and admins (DESIGN.md §8): server-rendered with jinja2,
htmx served from /admin/static (vendored from the npm package htmx.org, 2.0.11, BSD Zero Clause
License). Every page is a small module with its own router."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from webhooks.admin import audit, cohorts, courses, inbox, learners, login, playground, staff
from webhooks.admin.deps import install_error_pages

STATIC = Path(__file__).parent / "static"
PAGES = (login, inbox, learners, cohorts, courses, playground, staff, audit)


def mount(app: FastAPI) -> None:
    router = APIRouter(prefix="/admin")
    for page in PAGES:
        router.include_router(page.router)
    app.include_router(router)
    app.mount("/admin/static", StaticFiles(directory=STATIC), name="admin-static")
    install_error_pages(app)  # refusals (sign in, admins only, expired form) as pages
