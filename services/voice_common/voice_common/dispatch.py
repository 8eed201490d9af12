"""`DispatchMetadata`: what the worker's job learns about its session.

session-api sends it as the JSON metadata of the agent dispatch (with `CreateRoom`, and again
from the dispatch watchdog); the worker reads it when LiveKit offers the job and in the job's
entrypoint. A dispatch made by anyone else (LiveKit's CLI, a test) may carry no metadata, or
other metadata, so reading never fails: what is missing or unreadable is None, and the worker
falls back (the room name for the session id, its default language).
"""

import json
from typing import Any, Self

from pydantic import BaseModel, Field, ValidationError


class DispatchMetadata(BaseModel):
    session_id: str | None = Field(None, description="The session the job serves")
    user_id: str | None = Field(None, description="Whose session it is (memory, task authorship)")
    language: str | None = Field(None, description="BCP 47 tag the agent speaks and hears")
    agent_id: str | None = Field(
        None,
        exclude_if=lambda value: value is None,  # absent as before, when not known
        description="The agent the client asked for: the agents file's starting agent",
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="The client's free-form `metadata` of the session"
    )

    @classmethod
    def parse(cls, text: str) -> Self:
        """The metadata in `text`; empty for empty text, text that is not a JSON object, and
        without the fields whose value has the wrong type."""
        try:
            value = json.loads(text or "{}")
        except json.JSONDecodeError:
            return cls()
        if not isinstance(value, dict):
            return cls()
        fields = {name: value[name] for name in cls.model_fields if name in value}
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            wrong = {error["loc"][0] for error in exc.errors()}
            return cls.model_validate({k: v for k, v in fields.items() if k not in wrong})
