"""The Redis key schema shared by session-api (writer of sessions) and the worker (writer of turns).

One place names every key so that the two services cannot drift apart.

- `session:{id}`              hash: the session record (see `SessionField`)
- `session:{id}:participants` hash: identity -> JSON {kind, joined_at, left_at}
- `session:{id}:transcript`   list: JSON turn entries appended by the worker, oldest first
- `room:{room}`               string: the session id owning a LiveKit room (webhooks name rooms)
- `user:{user_id}:sessions`   sorted set: session ids scored by creation time (ms)
- `sessions:active`           set: ids of sessions whose status is `active`
- `webhook:seen:{event_id}`   string with TTL: webhook events already applied (replay guard)
- `ratelimit:{scope}:{key}`     string with TTL: GCRA theoretical arrival time (ms)
"""

from enum import StrEnum


class SessionStatus(StrEnum):
    created = "created"
    active = "active"
    ended = "ended"


class SessionField(StrEnum):
    session_id = "session_id"
    user_id = "user_id"
    agent_id = "agent_id"
    room = "room"
    identity = "identity"
    language = "language"
    metadata = "metadata"
    status = "status"
    created_at = "created_at"
    active_at = "active_at"
    ended_at = "ended_at"
    end_reason = "end_reason"
    expires_at = "expires_at"


ACTIVE_SESSIONS = "sessions:active"


def session(session_id: str) -> str:
    return f"session:{session_id}"


def participants(session_id: str) -> str:
    return f"session:{session_id}:participants"


def transcript(session_id: str) -> str:
    return f"session:{session_id}:transcript"


def room(room_name: str) -> str:
    return f"room:{room_name}"


def user_sessions(user_id: str) -> str:
    return f"user:{user_id}:sessions"


def webhook_seen(event_id: str) -> str:
    return f"webhook:seen:{event_id}"


def rate_limit(scope: str, key: str) -> str:
    return f"ratelimit:{scope}:{key}"
