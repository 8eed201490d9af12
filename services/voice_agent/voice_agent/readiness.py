"""The worker's provider readiness: can it hold a conversation with the providers it has?

Checked when the worker registers and every few seconds after (a local LLM server may come up
later), reported to Redis for session-api and the web client (`voice_common.worker_readiness`),
and logged as one line naming what is missing whenever that changes.
"""

import asyncio
import logging
from datetime import UTC, datetime

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import RedisError

from voice_common import redis_client
from voice_common.worker_readiness import REPORT_INTERVAL_SECONDS, WorkerReadiness, publish

from .settings import LLMProvider, WorkerSettings

log = logging.getLogger("voice_agent")
PROBE_TIMEOUT_SECONDS = 3.0


async def _answers(url: str) -> bool:
    timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT_SECONDS)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http, http.get(url) as response:
            return response.status < 500
    except (aiohttp.ClientError, TimeoutError):
        return False


async def provider_problems(settings: WorkerSettings) -> list[str]:
    """What stops this worker from answering, each with its fix; empty when nothing does.

    Cloud providers are chosen only when their key is set, and the local speech models ship
    with the worker, so the one thing that can be missing is the LLM server the worker falls
    back to when OPENAI_API_KEY is empty."""
    _, llm, _ = settings.chosen_providers()
    if llm is LLMProvider.openai_compatible and not await _answers(
        settings.llm_base_url.rstrip("/") + "/models"
    ):
        return [
            f"No LLM: OPENAI_API_KEY is not set and no OpenAI-compatible server answers at "
            f"{settings.llm_base_url}. Set OPENAI_API_KEY, or start the local LLM "
            "(with Docker: docker compose --profile local up -d)."
        ]
    return []


class ReadinessReporter:
    """Checks the providers and reports them, from registration until the worker stops."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self.worker_id = ""
        self._task: asyncio.Task[None] | None = None
        self._logged: list[str] | None = None

    def registered(self, worker_id: str) -> None:
        """The worker (re)registered: report under its new id, starting now."""
        self.worker_id = worker_id
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="readiness")

    async def check_once(self, redis: Redis) -> WorkerReadiness:
        report = WorkerReadiness(
            worker_id=self.worker_id,
            agent_name=self.settings.agent_name,
            problems=await provider_problems(self.settings),
            checked_at=datetime.now(UTC),
        )
        if report.problems != self._logged:
            for problem in report.problems:
                log.warning("worker cannot answer: %s", problem)
            if not report.problems and self._logged is not None:
                log.info("worker providers ready again")
            self._logged = report.problems
        try:
            await publish(redis, report)
        except RedisError as exc:
            log.warning("could not report readiness", extra={"error": str(exc)})
        return report

    async def _run(self) -> None:
        redis = redis_client.connect(self.settings.redis_url)
        try:
            while True:
                await self.check_once(redis)
                await asyncio.sleep(REPORT_INTERVAL_SECONDS)
        finally:
            await redis.aclose()
