"""Session status transitions, shared by session-api (webhooks, DELETE) and the worker (job end).

A session moves created -> active -> ended, never back, atomically: webhooks may arrive late or
twice, DELETE may race room_finished, and the worker may end a session the API already ended.
"""

from datetime import UTC, datetime
from enum import StrEnum

from redis.asyncio import Redis

from . import redis_keys as keys
from .redis_keys import SessionField, SessionStatus

# KEYS: session hash, active set. ARGV: new status, its timestamp field, timestamp, reason, id.
_ADVANCE = """
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return -1 end
local rank = {created = 0, active = 1, ended = 2}
if rank[ARGV[1]] <= rank[current] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], ARGV[2], ARGV[3])
if ARGV[1] == 'active' then
  redis.call('SADD', KEYS[2], ARGV[5])
else
  redis.call('SREM', KEYS[2], ARGV[5])
  if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'end_reason', ARGV[4]) end
end
return 1
"""


class EndReason(StrEnum):
    """Why a session ended, as its `end_reason` says. The first reason to arrive wins (see
    above). LiveKit's own shutdown reasons (a close reason such as "error", "room
    disconnected") pass through as they are."""

    ended_by_client = "ended_by_client"  # DELETE /api/voice/session/{id}
    room_finished = "room_finished"  # webhook: LiveKit closed the room
    agent_left = "agent_left"  # webhook: the agent left a room (its job process died)
    user_left = "user_left"  # the worker: the user hung up
    user_never_joined = "user_never_joined"  # the worker: nobody came, or the room closed first
    agent_ended = "agent_ended"  # the worker: the agent said goodbye and ended the call
    user_away = "user_away"  # the worker: the user stayed silent after "are you still there?"
    job_ended = "job_ended"  # the worker: the job ended without saying why
    agent_error = "agent_error"  # the worker failed; written as "agent_error: <Exception>"

    @classmethod
    def error(cls, failure: object) -> str:
        """The reason for a job that failed with `failure` (an exception, or the error event
        an AgentSession closed on), e.g. "agent_error: ValueError"."""
        return f"{cls.agent_error}: {type(failure).__name__}"


_TIMESTAMP_FIELD = {
    SessionStatus.active: SessionField.active_at,
    SessionStatus.ended: SessionField.ended_at,
}


class SessionTransitions:
    def __init__(self, redis: Redis) -> None:
        self._script = redis.register_script(_ADVANCE)

    async def advance(self, session_id: str, status: SessionStatus, reason: str = "") -> bool:
        """Move the session to `status` if that is forward; True when it changed."""
        changed = await self._script(
            keys=[keys.session(session_id), keys.ACTIVE_SESSIONS],
            args=[
                status,
                _TIMESTAMP_FIELD[status],
                datetime.now(UTC).isoformat(),
                reason,
                session_id,
            ],
        )
        return bool(changed == 1)
