"""Liveness, readiness and Prometheus metrics."""

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from ..dependencies import Services
from ..errors import DependencyUnavailable, error_body
from ..models import ErrorResponse

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


async def _check(name: str, probe: Callable[[], Awaitable[None]]) -> str | None:
    """The dependency's name if its probe fails or takes over two seconds, else None."""
    try:
        await asyncio.wait_for(probe(), timeout=2.0)
    except (DependencyUnavailable, RedisError, OSError, TimeoutError):
        return name
    return None


@router.get("/readyz", responses={503: {"model": ErrorResponse}})
async def readyz(services: Services) -> JSONResponse:
    """Redis and LiveKit answer; 503 naming what is down otherwise."""
    down = [
        name
        for name in await asyncio.gather(
            _check("redis", services.store.ping), _check("livekit", services.livekit.ping)
        )
        if name
    ]
    if down:
        return JSONResponse(
            error_body("not_ready", f"Unavailable: {', '.join(down)}", unavailable=down), 503
        )
    return JSONResponse({"status": "ready", "checks": {"redis": "ok", "livekit": "ok"}})


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(services: Services) -> Response:
    """Prometheus metrics."""
    try:
        services.metrics.sessions_active.set(await services.store.count_active())
    except RedisError:
        pass  # the request metrics are still worth serving while Redis is down
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
