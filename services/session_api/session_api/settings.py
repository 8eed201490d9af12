"""Session API configuration, read from the environment (and `.env`)."""

from functools import cached_property
from typing import Annotated

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode

from voice_common.settings import CommonSettings


class AgentConfig(BaseModel):
    """One entry of the agent registry: what an `agent_id` a client asks for dispatches."""

    agent_name: str = Field(description="Agent name the worker registers with (explicit dispatch).")
    default_language: str = Field("en-US", description="Language used when the request names none.")
    display_name: str = Field("Project assistant", description="Human-readable name for clients.")


DEFAULT_AGENTS = {"pm-agent": AgentConfig(agent_name="pm-agent")}


class Settings(CommonSettings):
    host: str = Field("127.0.0.1", description="Interface uvicorn binds to.")
    port: int = Field(8000, description="Port uvicorn listens on.")
    web_concurrency: int = Field(1, ge=1, description="uvicorn worker processes.")
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="Proxies whose X-Forwarded-For is trusted for the client IP (uvicorn).",
    )
    log_level: str = Field("info", description="debug, info, warning or error.")

    livekit_public_url: str = Field(
        "ws://localhost:7880", description="livekit-server URL as a browser reaches it."
    )
    livekit_request_timeout_seconds: float = Field(
        5.0, gt=0, description="Timeout of one call to LiveKit's RoomService."
    )

    session_token_ttl_seconds: int = Field(
        900, ge=60, le=86400, description="Lifetime of a participant token (default 15 minutes)."
    )
    room_empty_timeout_seconds: int = Field(
        300, ge=10, description="LiveKit closes a room nobody joined (or everyone left) after this."
    )
    agent_join_timeout_seconds: float = Field(
        6.0,
        gt=0,
        description="If the agent has not joined a session this long after it was created (or "
        "last dispatched), dispatch it again: livekit-server never retries a dropped dispatch.",
    )
    agent_dispatch_attempts: int = Field(
        3, ge=0, description="Re-dispatches per session before giving up (0 turns them off)."
    )
    cors_allow_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://localhost:3000"],
        description="Comma-separated origins allowed to call the API from a browser.",
    )
    rate_limit_per_user_per_minute: int = Field(
        20, ge=0, description="Sessions one user_id may create per minute (0 disables)."
    )
    rate_limit_per_ip_per_minute: int = Field(
        120, ge=0, description="Sessions one client IP may create per minute (0 disables)."
    )
    agents: dict[str, AgentConfig] = Field(
        default_factory=lambda: dict(DEFAULT_AGENTS),
        description="JSON registry: agent_id -> {agent_name, default_language, display_name}.",
    )

    @field_validator("cors_allow_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @cached_property
    def api_secret(self) -> str:
        return self.livekit_api_secret.get_secret_value()
