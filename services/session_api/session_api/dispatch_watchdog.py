"""`DispatchWatchdog`: dispatches the agent again to sessions whose agent has not joined in time.

livekit-server drops a dispatch it cannot place (no worker registered for the agent, every
worker full, or a worker that just died) and never retries it, which leaves a user alone in a
room. Each new session is registered as awaiting its agent; the agent's `participant_joined`
webhook clears it. Any replica's watchdog claims a session that is due (ZREM is the claim, so
exactly one replica acts), dispatches again through CreateDispatch, and reschedules it, up to
a number of attempts. A session whose job a worker has accepted (`agent_starting`, set by the
worker) is not dispatched again while that marker lives.
"""

import asyncio
import json
import logging
import time
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from voice_common import redis_keys as keys
from voice_common.dispatch import DispatchMetadata
from voice_common.redis_keys import SessionField as F
from voice_common.redis_keys import SessionStatus

from .agents import AgentRegistry
from .errors import ApiError, DependencyUnavailable
from .livekit_gateway import LiveKitGateway

log = logging.getLogger(__name__)

BATCH = 50
REDISPATCHED = "agent dispatched again"  # the log message; fields: session_id, room, attempt


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


class DispatchWatchdog:
    def __init__(
        self,
        redis: Redis,
        livekit: LiveKitGateway,
        agents: AgentRegistry,
        *,
        retry_seconds: float,
        max_attempts: int,
    ) -> None:
        self._redis = redis
        self._livekit = livekit
        self._agents = agents
        self._retry_ms = _ms(retry_seconds)
        self._max_attempts = max_attempts

    @property
    def enabled(self) -> bool:
        return self._max_attempts > 0

    async def agent_joined(self, session_id: str) -> None:
        await self._redis.zrem(keys.AWAITING_AGENT, session_id)

    async def run(self) -> None:
        """Check for due sessions until cancelled (a task of the app's lifespan)."""
        interval = min(1.0, self._retry_ms / 4000)
        while True:
            try:
                await self.check_due()
            except (RedisError, DependencyUnavailable) as exc:
                log.warning("dispatch watchdog waiting", extra={"error": str(exc)})
            await asyncio.sleep(interval)

    async def check_due(self) -> None:
        now = _ms(time.time())
        due = cast(
            list[str],
            await self._redis.zrangebyscore(keys.AWAITING_AGENT, "-inf", now, start=0, num=BATCH),
        )
        for session_id in due:
            if await self._redis.zrem(keys.AWAITING_AGENT, session_id):  # claimed by us
                await self._redispatch(session_id)

    async def _redispatch(self, session_id: str) -> None:
        record = cast(dict[str, str], await self._redis.hgetall(keys.session(session_id)))
        if not record or record[F.status] == SessionStatus.ended:
            return
        participants = await self._redis.hvals(keys.participants(session_id))
        if any(json.loads(info).get("kind") == "agent" for info in participants):
            return
        if await self._redis.exists(keys.agent_starting(session_id)):
            # A worker accepted the job and its agent is starting: wait for it, do not send
            # a second one (livekit-server lists the job only once the agent has joined).
            await self._redis.zadd(
                keys.AWAITING_AGENT, {session_id: _ms(time.time()) + self._retry_ms}
            )
            return
        attempt = await self._redis.hincrby(keys.session(session_id), F.dispatch_attempts, 1)
        if attempt > self._max_attempts:
            log.error(
                "agent never joined",
                extra={"session_id": session_id, "room": record[F.room], "attempts": attempt - 1},
            )
            return
        try:
            agent = self._agents.get(record[F.agent_id])
        except ApiError:
            log.error("session of an unconfigured agent", extra={"session_id": session_id})
            return
        metadata = DispatchMetadata(
            session_id=session_id,
            user_id=record[F.user_id],
            language=record[F.language],
            agent_id=record[F.agent_id],
            metadata=json.loads(record[F.metadata]),
        )
        try:
            dispatched = await self._livekit.dispatch_agent(
                record[F.room], agent_name=agent.agent_name, dispatch_metadata=metadata
            )
        finally:
            # Check again later whatever happened: the agent may still not come.
            await self._redis.zadd(
                keys.AWAITING_AGENT, {session_id: _ms(time.time()) + self._retry_ms}
            )
        if dispatched:
            log.warning(
                REDISPATCHED,
                extra={"session_id": session_id, "room": record[F.room], "attempt": attempt},
            )
