"""The Redis key schema shared by session-api (writer of sessions) and the worker (writer of turns).

One place names every key so that the two services cannot drift apart.

- `session:{id}`              hash: the session record (see `SessionField`)
- `session:{id}:participants` hash: identity -> JSON {kind, joined_at, left_at}
- `session:{id}:transcript`   list: JSON turn entries appended by the worker, oldest first
- `room:{room}`               string: the session id owning a LiveKit room (webhooks name rooms)
- `user:{user_id}:sessions`   sorted set: session ids scored by creation time (ms)
- `sessions:index`            sorted set: every user's session ids by creation time (ms), for
                              the inspector (trimmed to the retention and 10 000 entries)
- `sessions:active`           set: ids of sessions whose status is `active`
- `sessions:awaiting_agent`   sorted set: sessions whose agent has not joined, by re-dispatch time
- `session:{id}:agent_starting` string with TTL: a worker accepted the session's job (the
                              agent is on its way; the dispatch watchdog waits for it)
- `webhook:seen:{event_id}`   string with TTL: webhook events already applied (replay guard)
- `ratelimit:{scope}:{key}`     string with TTL: GCRA theoretical arrival time (ms)
- `projects:index`            set: slugs of every project (see `voice_common.projects`)
- `projects:seeded`           string: set once, by the one process that seeded the demo projects
- `project:{slug}`            hash: the project record (name, owner, status, due_date...)
- `project:{slug}:tasks`      hash: task id -> JSON task
- `tasks:next_id`             string: counter behind task ids (`T-<n>`), shared by all projects
- `agent:{name}:worker:{id}:readiness` string with TTL: a worker's provider readiness (see
                              `voice_common.worker_readiness`, which owns this key)
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
    usage = "usage"  # JSON usage summary the worker writes when the job ends
    dispatch_attempts = "dispatch_attempts"  # re-dispatches the watchdog made


ACTIVE_SESSIONS = "sessions:active"
# Every session by creation time (ms since epoch): the inspector's list across users.
SESSIONS_INDEX = "sessions:index"
# Sessions whose agent has not joined yet, scored by when to re-dispatch it (ms since epoch).
AWAITING_AGENT = "sessions:awaiting_agent"


def session(session_id: str) -> str:
    return f"session:{session_id}"


def participants(session_id: str) -> str:
    return f"session:{session_id}:participants"


def agent_starting(session_id: str) -> str:
    return f"session:{session_id}:agent_starting"


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


def projects_index() -> str:
    return "projects:index"


def projects_seeded() -> str:
    return "projects:seeded"


def project(slug: str) -> str:
    return f"project:{slug}"


def project_tasks(slug: str) -> str:
    return f"project:{slug}:tasks"


def task_counter() -> str:
    return "tasks:next_id"
