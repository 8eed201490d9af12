"""`SessionService`: creating and ending sessions so that a room never exists without its record
and a record never points at a room that does not exist."""

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from redis.exceptions import RedisError

from voice_common.dispatch import DispatchMetadata
from voice_common.redis_keys import SessionStatus
from voice_common.session_status import EndReason

from .agents import AgentRegistry
from .errors import ApiError, DependencyUnavailable
from .livekit_gateway import LiveKitGateway
from .metrics import ApiMetrics
from .models import SessionRequest
from .store import SessionRecord, SessionStore, utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewSession:
    record: SessionRecord
    token: str


class SessionService:
    def __init__(
        self,
        *,
        store: SessionStore,
        livekit: LiveKitGateway,
        agents: AgentRegistry,
        metrics: ApiMetrics,
        token_ttl: timedelta,
        room_empty_timeout_seconds: int,
        agent_join_timeout: timedelta | None,
    ) -> None:
        self._store = store
        self._livekit = livekit
        self._agents = agents
        self._metrics = metrics
        self._token_ttl = token_ttl
        self._empty_timeout = room_empty_timeout_seconds
        self._agent_join_timeout = agent_join_timeout

    async def create(self, request: SessionRequest) -> NewSession:
        agent = self._agents.get(request.agent_id)
        session_id = uuid.uuid4().hex
        now = utc_now()
        record = SessionRecord(
            session_id=session_id,
            user_id=request.user_id,
            agent_id=request.agent_id,
            room=f"voice-{session_id}",
            identity=f"user-{request.user_id}-{session_id[:12]}",
            language=request.language or agent.default_language,
            created_at=now,
            expires_at=now + self._token_ttl,
            metadata=request.metadata,
        )
        await self._livekit.create_room(
            record.room,
            agent_name=agent.agent_name,
            dispatch_metadata=DispatchMetadata(
                session_id=session_id,
                user_id=record.user_id,
                language=record.language,
                agent_id=record.agent_id,
                metadata=record.metadata,
            ),
            empty_timeout_seconds=self._empty_timeout,
        )
        try:
            await self._store.create(
                record,
                redispatch_at=now + self._agent_join_timeout if self._agent_join_timeout else None,
            )
        except RedisError as exc:
            await self._undo_room(record.room)
            raise DependencyUnavailable("Redis") from exc
        token = self._livekit.participant_token(
            room=record.room, identity=record.identity, name=record.user_id, ttl=self._token_ttl
        )
        self._metrics.sessions_created.labels(agent_id=record.agent_id).inc()
        log.info(
            "session created",
            extra={"session_id": session_id, "room": record.room, "agent_id": record.agent_id},
        )
        return NewSession(record=record, token=token)

    async def _undo_room(self, room: str) -> None:
        try:
            await self._livekit.delete_room(room)
        except DependencyUnavailable:
            # The room has no record and nobody holds its token: LiveKit closes it after the
            # empty timeout. Say so, since it is the one case that leaves something behind.
            log.error(
                "room left for LiveKit's empty timeout",
                extra={"room": room, "reason": "rollback_failed"},
            )

    async def end(self, session_id: str, reason: EndReason) -> dict[str, object]:
        """Delete the room and mark the session ended. Idempotent."""
        state = await self._store.get(session_id)
        if state is None:
            raise ApiError(404, "session_not_found", f"No session '{session_id}'")
        if state["status"] != SessionStatus.ended:
            await self._livekit.delete_room(state["room"])
            await self._store.advance(session_id, SessionStatus.ended, reason)
            log.info(
                "session ended",
                extra={"session_id": session_id, "room": state["room"], "reason": reason},
            )
            state = await self._store.get(session_id) or state
        return state
