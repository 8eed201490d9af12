"""Request and response bodies of the session API (validated at the edge)."""

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from voice_common.redis_keys import SessionStatus
from voice_common.session_status import EndReason
from voice_common.transcript import TranscriptEntry

MAX_METADATA_BYTES = 4096

UserId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$"),
    Field(description="1-64 characters of A-Z a-z 0-9 _ . @ -", examples=["alice@example.com"]),
]
AgentId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$"),
    Field(description="An id from the agent registry", examples=["pm-agent"]),
]
Language = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$"),
    Field(description="BCP 47 language tag", examples=["en-US", "hi-IN"]),
]


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: UserId
    agent_id: AgentId = "pm-agent"
    language: Language | None = None
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description=f"Free-form JSON object, at most {MAX_METADATA_BYTES} bytes",
    )

    @field_validator("metadata")
    @classmethod
    def _metadata_fits(cls, value: dict[str, Any]) -> dict[str, Any]:
        size = len(json.dumps(value, separators=(",", ":")).encode())
        if size > MAX_METADATA_BYTES:
            raise ValueError(f"metadata is {size} bytes; the limit is {MAX_METADATA_BYTES}")
        return value


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: UserId
    agent_id: AgentId = "pm-agent"


class _Response(BaseModel):
    """A response body: every field is always in the JSON (defaults included), so the schema
    marks them all required and the web client's generated types need no `?`."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class SessionCreated(_Response):
    session_id: str
    room: str
    identity: str
    token: str
    livekit_url: str
    agent_id: str
    expires_at: datetime


class TokenCreated(_Response):
    token: str
    url: str


class Participant(_Response):
    identity: str
    kind: str
    joined_at: datetime | None = None
    left_at: datetime | None = None


class SessionState(_Response):
    session_id: str
    user_id: str
    agent_id: str
    room: str
    language: str
    metadata: dict[str, Any]
    status: SessionStatus
    created_at: datetime
    active_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = Field(
        None,
        description="Why it ended: "
        + ", ".join(f"`{reason}`" for reason in EndReason)
        + " (written `agent_error: <Exception>`), or a shutdown reason of LiveKit's own",
    )
    expires_at: datetime
    participants: list[Participant] = Field(default_factory=list)
    transcript: list[TranscriptEntry] = Field(
        default_factory=list,
        description="User turns, agent turns (with per-turn latency in seconds) and tool calls, "
        "oldest first",
    )
    usage: dict[str, Any] | None = Field(
        None, description="Turn and tool counts and mean latencies, written when the job ends"
    )


class SessionSummary(_Response):
    session_id: str
    agent_id: str
    room: str
    status: SessionStatus
    created_at: datetime
    ended_at: datetime | None = None


class SessionPage(_Response):
    sessions: list[SessionSummary]
    next_offset: int | None = Field(
        description="Pass as `offset` for the next page; null at the end"
    )


class InspectorSessionSummary(_Response):
    """One row of the inspector's session list."""

    session_id: str
    user_id: str
    agent_id: str
    status: SessionStatus
    created_at: datetime
    active_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    transcript_entries: int = Field(description="Entries in its transcript so far")


class InspectorSessionPage(_Response):
    sessions: list[InspectorSessionSummary] = Field(description="Newest first")
    next_offset: int | None = Field(
        description="Pass as `offset` for the next page; null at the end"
    )


class AgentStatus(_Response):
    """Whether the workers of an agent can hold a conversation, as they last reported."""

    agent_id: str
    display_name: str
    workers: int = Field(description="Workers of this agent that reported in the last 45 s")
    ready: bool | None = Field(
        description="true: a worker can answer; false: every reporting worker has a problem "
        "(listed in `problems`); null: no worker has reported (none running, or just starting)"
    )
    problems: list[str] = Field(description="What stops the workers from answering, and the fix")


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail
