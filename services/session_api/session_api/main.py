"""The FastAPI application: `create_app(settings)` wires settings, Redis, LiveKit and the routes."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from livekit import api
from redis.exceptions import RedisError

from voice_common import redis_client
from voice_common.projects import ProjectStore

from .agents import AgentRegistry
from .body_limit import BodySizeLimitMiddleware
from .dependencies import AppServices
from .dispatch_watchdog import DispatchWatchdog
from .errors import install_error_handlers
from .livekit_gateway import LiveKitGateway
from .metrics import ApiMetrics, RequestMetricsMiddleware
from .rate_limit import RateLimiter
from .routes import agents as agents_routes
from .routes import health, inspector, projects, sessions, webhook
from .session_service import SessionService
from .settings import Settings
from .store import SessionStore

MAX_BODY_BYTES = 16 * 1024
REDIS_TIMEOUT_SECONDS = 2.0

log = logging.getLogger(__name__)


def _build_services(settings: Settings, metrics: ApiMetrics) -> AppServices:
    redis = redis_client.connect(settings.redis_url, timeout_seconds=REDIS_TIMEOUT_SECONDS)
    store = SessionStore(redis, retention_seconds=settings.session_retention_days * 86400)
    livekit = LiveKitGateway(
        settings.livekit_url,
        settings.livekit_api_key,
        settings.api_secret,
        settings.livekit_request_timeout_seconds,
    )
    agents = AgentRegistry(settings.agents)
    return AppServices(
        settings=settings,
        redis=redis,
        agents=agents,
        store=store,
        projects=ProjectStore(redis),
        livekit=livekit,
        sessions=SessionService(
            store=store,
            livekit=livekit,
            agents=agents,
            metrics=metrics,
            token_ttl=timedelta(seconds=settings.session_token_ttl_seconds),
            room_empty_timeout_seconds=settings.room_empty_timeout_seconds,
            agent_join_timeout=(
                timedelta(seconds=settings.agent_join_timeout_seconds)
                if settings.agent_dispatch_attempts
                else None
            ),
        ),
        rate_limiter=RateLimiter(
            redis,
            per_user=settings.rate_limit_per_user_per_minute,
            per_ip=settings.rate_limit_per_ip_per_minute,
        ),
        metrics=metrics,
        webhook_receiver=api.WebhookReceiver(
            api.TokenVerifier(settings.livekit_api_key, settings.api_secret)
        ),
        watchdog=DispatchWatchdog(
            redis,
            livekit,
            agents,
            retry_seconds=settings.agent_join_timeout_seconds,
            max_attempts=settings.agent_dispatch_attempts,
        ),
    )


async def _seed_projects(store: ProjectStore) -> None:
    """Seed the demo projects; with Redis down, the first projects request does it instead."""
    try:
        await store.ensure_seeded()
    except RedisError as exc:
        log.warning(
            "projects not seeded at startup; seeding on first use", extra={"error": str(exc)}
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = _build_services(settings, metrics)
        app.state.services = services
        await _seed_projects(services.projects)
        watchdog = (
            asyncio.create_task(services.watchdog.run()) if services.watchdog.enabled else None
        )
        try:
            yield
        finally:
            if watchdog:
                watchdog.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watchdog
            await services.livekit.aclose()
            await services.store.aclose()

    app = FastAPI(
        title="Voice session API",
        version="0.1.0",
        summary="Creates LiveKit voice sessions with an AI agent dispatched to them.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for router in (
        sessions.router,
        inspector.router,
        agents_routes.router,
        projects.router,
        webhook.router,
        health.router,
    ):
        app.include_router(router)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_allow_origins,
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["Content-Type"],
        max_age=600,
    )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics)
    return app
