"""Admin page: login (being written)."""

from fastapi import APIRouter

router = APIRouter()
