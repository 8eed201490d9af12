"""`SessionStore`: session records in Redis (see `voice_common.redis_keys` for the schema)."""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from redis.asyncio import Redis

from voice_common import redis_keys as keys
from voice_common.redis_keys import SessionField as F
from voice_common.redis_keys import SessionStatus
from voice_common.session_status import SessionTransitions

USER_INDEX_MAX = 1000  # a user's index keeps this many newest sessions
SESSIONS_INDEX_MAX = 10_000  # the index of every user's sessions keeps this many newest


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SessionRecord:
    session_id: str
    user_id: str
    agent_id: str
    room: str
    identity: str
    language: str
    created_at: datetime
    expires_at: datetime
    metadata: dict[str, Any] = field(default_factory=dict)


class SessionStore:
    def __init__(self, redis: Redis, retention_seconds: int) -> None:
        self._redis = redis
        self._retention = retention_seconds
        self._transitions = SessionTransitions(redis)

    async def create(self, record: SessionRecord, redispatch_at: datetime | None = None) -> None:
        """Write the record, its room mapping, the user index and (when given) the time to
        dispatch its agent again if it has not joined, in one transaction."""
        sid = record.session_id
        fields = {
            F.session_id: sid,
            F.user_id: record.user_id,
            F.agent_id: record.agent_id,
            F.room: record.room,
            F.identity: record.identity,
            F.language: record.language,
            F.metadata: json.dumps(record.metadata, separators=(",", ":")),
            F.status: SessionStatus.created,
            F.created_at: record.created_at.isoformat(),
            F.expires_at: record.expires_at.isoformat(),
        }
        user_index = keys.user_sessions(record.user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.session(sid), mapping={str(k): v for k, v in fields.items()})
            pipe.expire(keys.session(sid), self._retention)
            pipe.set(keys.room(record.room), sid, ex=self._retention)
            pipe.zadd(user_index, {sid: record.created_at.timestamp() * 1000})
            pipe.zremrangebyrank(user_index, 0, -USER_INDEX_MAX - 1)
            pipe.expire(user_index, self._retention)
            pipe.zadd(keys.SESSIONS_INDEX, {sid: record.created_at.timestamp() * 1000})
            pipe.zremrangebyrank(keys.SESSIONS_INDEX, 0, -SESSIONS_INDEX_MAX - 1)
            pipe.zremrangebyscore(
                keys.SESSIONS_INDEX,
                "-inf",
                (record.created_at.timestamp() - self._retention) * 1000,
            )
            if redispatch_at is not None:
                pipe.zadd(keys.AWAITING_AGENT, {sid: int(redispatch_at.timestamp() * 1000)})
            await pipe.execute()

    async def get(self, session_id: str) -> dict[str, Any] | None:
        """The record with its participants and transcript, or None."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.session(session_id))
            pipe.hgetall(keys.participants(session_id))
            pipe.lrange(keys.transcript(session_id), 0, -1)
            record, participants, transcript = await pipe.execute()
        if not record:
            return None
        record["metadata"] = json.loads(record.get(F.metadata, "{}"))
        record["usage"] = json.loads(record[F.usage]) if F.usage in record else None
        record["participants"] = [
            {"identity": identity, **json.loads(info)} for identity, info in participants.items()
        ]
        record["transcript"] = [json.loads(entry) for entry in transcript]
        return record

    async def list_for_user(
        self, user_id: str, offset: int, limit: int
    ) -> tuple[list[dict[str, str]], bool]:
        """A page of the user's sessions, newest first, and whether more follow."""
        # decode_responses=True: redis-py returns str, though its annotations allow bytes too.
        ids = cast(
            list[str],
            await self._redis.zrevrange(keys.user_sessions(user_id), offset, offset + limit),
        )
        has_more = len(ids) > limit
        ids = ids[:limit]
        if not ids:
            return [], False
        names = [
            str(f) for f in (F.session_id, F.agent_id, F.room, F.status, F.created_at, F.ended_at)
        ]
        async with self._redis.pipeline(transaction=False) as pipe:
            for sid in ids:
                pipe.hmget(keys.session(sid), names)
            rows = await pipe.execute()
        # A record may have expired before its index entry: skip it.
        page = [dict(zip(names, row, strict=True)) for row in rows if row[0] is not None]
        return page, has_more

    async def session_for_room(self, room: str) -> str | None:
        return cast(str | None, await self._redis.get(keys.room(room)))

    async def advance(self, session_id: str, status: SessionStatus, reason: str = "") -> bool:
        """Move the session to `status` if that is forward; True when it changed."""
        return await self._transitions.advance(session_id, status, reason)

    async def record_participant(
        self, session_id: str, identity: str, kind: str, *, joined: bool
    ) -> None:
        key = keys.participants(session_id)
        stamp = "joined_at" if joined else "left_at"
        existing = await self._redis.hget(key, identity)
        info = json.loads(existing) if existing else {"kind": kind}
        info[stamp] = utc_now().isoformat()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, identity, json.dumps(info))
            pipe.expire(key, self._retention)
            await pipe.execute()

    async def mark_event_seen(self, event_id: str, ttl_seconds: int = 86400) -> bool:
        """True the first time an event id is seen; False for a replay."""
        return bool(
            await self._redis.set(keys.webhook_seen(event_id), "1", nx=True, ex=ttl_seconds)
        )

    async def count_active(self) -> int:
        return int(await self._redis.scard(keys.ACTIVE_SESSIONS))

    async def ping(self) -> None:
        await self._redis.ping()

    async def aclose(self) -> None:
        await self._redis.aclose()
