"""Admin page: cohorts (being written)."""

from fastapi import APIRouter

router = APIRouter()
