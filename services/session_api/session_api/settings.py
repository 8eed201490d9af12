"""Session API configuration, read from the environment (and `.env`)."""

from functools import cached_property
from typing import Annotated, Self

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from voice_common.settings import MIN_PRODUCTION_SECRET_LENGTH, AppEnv, CommonSettings


class AgentConfig(BaseModel):
    """One entry of the agent registry: what an `agent_id` a client asks for dispatches."""

    agent_name: str = Field(description="Agent name the worker registers with (explicit dispatch).")
    default_language: str = Field("en-US", description="Language used when the request names none.")
    display_name: str = Field("Project assistant", description="Human-readable name for clients.")


class Settings(CommonSettings):
    host: str = Field(
        "127.0.0.1",
        description="Interface uvicorn binds to: 127.0.0.1 natively; the container binds 0.0.0.0.",
    )
    port: int = Field(
        8000, description="Port uvicorn listens on (compose publishes it as 127.0.0.1:8000)."
    )
    web_concurrency: int = Field(1, ge=1, description="uvicorn worker processes.")
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="Proxies whose X-Forwarded-For header is trusted for the client IP "
        "(comma-separated IPs or networks, or * for any). Compose sets * because the API is "
        "reachable only through nginx, which overwrites the header, and the host's loopback; "
        "never use * where clients can reach the API directly.",
    )
    log_level: str = Field("info", description="Log verbosity: debug, info, warning or error.")

    livekit_public_url: str = Field(
        "ws://localhost:7880",
        description="livekit-server URL as a browser reaches it (returned to the client with its "
        "token). Use wss://your-domain when the server is behind TLS.",
    )
    livekit_request_timeout_seconds: float = Field(
        5.0, gt=0, description="Timeout in seconds of one call to LiveKit's RoomService."
    )

    session_token_ttl_seconds: int = Field(
        900,
        ge=60,
        le=86400,
        description="Lifetime of a participant token in seconds (60 to 86400; the default is 15 "
        "minutes).",
    )
    room_empty_timeout_seconds: int = Field(
        300,
        ge=10,
        description="LiveKit closes a room nobody joined, or everyone left, after this many "
        "seconds.",
    )
    agent_join_timeout_seconds: float = Field(
        6.0,
        gt=0,
        description="If the agent has not joined a session this many seconds after it was "
        "created (or last dispatched), session-api dispatches it again: livekit-server never "
        "retries a dropped dispatch. Not while a worker has accepted the job and its agent is "
        "starting (the worker marks it in Redis for 20 s): livekit-server lists such a job only "
        "once its agent has joined, and a second dispatch would put two agents in the room.",
    )
    agent_dispatch_attempts: int = Field(
        3,
        ge=0,
        description="Re-dispatches per session before giving up (0 turns the watchdog off).",
    )
    cors_allow_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://localhost:3000"],
        description="Comma-separated browser origins allowed to call the API cross-origin. The "
        "web client itself is served from the same origin through nginx and needs no entry.",
    )
    rate_limit_per_user_per_minute: int = Field(
        20, ge=0, description="Sessions one user_id may create per minute (0 disables)."
    )
    rate_limit_per_ip_per_minute: int = Field(
        120, ge=0, description="Sessions one client IP may create per minute (0 disables)."
    )
    agents: dict[str, AgentConfig] = Field(
        default_factory=dict,
        description="Agent registry as JSON: agent_id (what clients ask for) -> agent_name (what "
        "the worker registers as, see `AGENT_NAME`), default_language, and optionally "
        "display_name. Empty: every startable agent of the agents file (`AGENTS_FILE`), "
        "dispatched to the file's `worker_agent_name`; the agent_id then picks the agent the "
        "conversation starts with.",
    )

    inspector_token: SecretStr | None = Field(
        None,
        description="Operator token of the session inspector (/inspector.html and "
        "/api/inspector/...), sent as `Authorization: Bearer <token>`. Unset: the inspector is "
        "off and its endpoints answer 401. It shows every user's conversations: use a long "
        "random value (32+ characters in production), e.g. `openssl rand -hex 32`.",
    )

    @model_validator(mode="after")
    def _refuse_short_inspector_token_in_production(self) -> Self:
        token = self.inspector_token
        if (
            self.app_env is AppEnv.production
            and token is not None
            and len(token.get_secret_value()) < MIN_PRODUCTION_SECRET_LENGTH
        ):
            raise ValueError(
                f"APP_ENV=production needs INSPECTOR_TOKEN of at least "
                f"{MIN_PRODUCTION_SECRET_LENGTH} characters (or leave it unset: inspector off)"
            )
        return self

    @model_validator(mode="after")
    def _registry_from_agents_file(self) -> Self:
        """One source of truth: unless AGENTS routes ids itself, the agents file's startable
        agents are the ids a session may ask for (any other is 404, `AgentRegistry`)."""
        if not self.agents:
            agents = self.agents_config()
            self.agents = {
                spec.id: AgentConfig(
                    agent_name=agents.worker_agent_name,
                    default_language=spec.language or "en-US",
                    display_name=spec.display_name,
                )
                for spec in agents.agents
                if spec.startable
            }
        return self

    @field_validator("cors_allow_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @cached_property
    def api_secret(self) -> str:
        return self.livekit_api_secret.get_secret_value()
