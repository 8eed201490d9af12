"""Session records written straight into Redis, as session-api (`SessionStore`) and the worker
(transcript entries as JSON lines) write them: for the inspector's tests, which need sessions in
given states at given times without holding a conversation for each."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from redis.asyncio import Redis

from session_api.store import SessionRecord, SessionStore
from voice_common import redis_keys as keys
from voice_common.transcript import AgentTurn, ToolCall, UserTurn


async def seed_session(redis: Redis, user_id: str, created_at: datetime, **fields: str) -> str:
    """A new session's record as session-api writes it, then `fields` over it (status,
    end_reason, usage as JSON...); returns its id."""
    sid = uuid.uuid4().hex
    record = SessionRecord(
        session_id=sid,
        user_id=user_id,
        agent_id="pm-agent",
        room=f"voice-{sid}",
        identity=f"user-{user_id}",
        language="en-US",
        created_at=created_at,
        expires_at=created_at + timedelta(minutes=15),
    )
    await SessionStore(redis, retention_seconds=86400).create(record)
    if fields:
        await redis.hset(keys.session(sid), mapping=dict(fields.items()))
    return sid


async def append_entries(
    redis: Redis, session_id: str, *entries: UserTurn | AgentTurn | ToolCall
) -> None:
    """Append transcript entries as the worker does (one JSON line each)."""
    await redis.rpush(keys.transcript(session_id), *[entry.model_dump_json() for entry in entries])
