"""The objects a request handler needs, built once per app and injected with `Depends`."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from livekit import api
from redis.asyncio import Redis

from voice_common.projects import ProjectStore

from .agents import AgentRegistry
from .dispatch_watchdog import DispatchWatchdog
from .livekit_gateway import LiveKitGateway
from .metrics import ApiMetrics
from .rate_limit import RateLimiter
from .session_service import SessionService
from .settings import Settings
from .store import SessionStore


@dataclass(frozen=True)
class AppServices:
    settings: Settings
    redis: Redis
    agents: AgentRegistry
    store: SessionStore
    projects: ProjectStore
    livekit: LiveKitGateway
    sessions: SessionService
    rate_limiter: RateLimiter
    metrics: ApiMetrics
    webhook_receiver: api.WebhookReceiver
    watchdog: DispatchWatchdog


async def _services(request: Request) -> AppServices:
    # async: FastAPI runs a sync dependency in a thread pool, on every request (measured: a
    # fifth of the API's CPU under load).
    services: AppServices = request.app.state.services
    return services


Services = Annotated[AppServices, Depends(_services)]
