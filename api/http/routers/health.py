"""``GET /health``: the one route without an API key."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter

from api.http.schemas import HealthOut

router = APIRouter(tags=["health"])


def _version() -> str:
    try:
        return version("hushdb")
    except PackageNotFoundError:
        return "0"


VERSION = _version()


@router.get("/health", response_model=HealthOut, summary="Liveness (no authentication)")
async def health() -> HealthOut:
    return HealthOut(status="ok", version=VERSION)
