"""Settings shared by session-api and the voice agent worker.

Both services talk to the same livekit-server with the same API key pair and to the same Redis,
and both must refuse to run in production with the development credentials that
`livekit-server --dev` uses.
"""

from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .agents_file import AgentsFile, load_agents_file

DEV_API_KEY = "devkey"
DEV_API_SECRET = "secret"  # noqa: S105 - the well-known development secret, refused in production
MIN_PRODUCTION_SECRET_LENGTH = 32


class AppEnv(StrEnum):
    development = "development"
    production = "production"


class CommonSettings(BaseSettings):
    """Where livekit-server and Redis are, and the LiveKit credentials (environment or `.env`)."""

    # An empty variable (`STT_PROVIDER=` as .env.example has it) means "use the default".
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    app_env: AppEnv = Field(
        AppEnv.development,
        description="`development` or `production`. `production` refuses the development "
        "LiveKit key and secret and secrets shorter than 32 characters.",
    )
    livekit_url: str = Field(
        "http://127.0.0.1:7880",
        description="URL of livekit-server as this service reaches it, http(s):// or ws(s)://. "
        "In compose session-api uses http://livekit:7880 and the worker ws://livekit:7880.",
    )
    livekit_api_key: str = Field(
        DEV_API_KEY,
        description="LiveKit API key. livekit-server gets it too (`LIVEKIT_KEYS`, and "
        "`LIVEKIT_WEBHOOK_API_KEY`, the key that signs webhooks). `devkey` is the development "
        "key: generate a pair for production.",
    )
    livekit_api_secret: SecretStr = Field(
        SecretStr(DEV_API_SECRET),
        description="LiveKit API secret (32+ characters in production). `secret` is the "
        "development secret.",
    )
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0",
        description="Redis connection URL. In compose: redis://redis:6379/0.",
    )
    session_retention_days: int = Field(
        30,
        ge=1,
        description="Session records and transcripts expire from Redis after this many days.",
    )

    agents_file: Path | None = Field(
        None,
        description="JSON file listing the agents: their instructions, greeting, voice, "
        'language, tools and handoffs (docs/configuration.md, "The agents file"). Both '
        "services read it at start and refuse to start when it does not hold together. Empty: "
        "the shipped `services/voice_common/voice_common/data/agents.json`.",
    )

    def agents_config(self) -> AgentsFile:
        """The agents file's agents (checked when the settings were read)."""
        return load_agents_file(self.agents_file)

    @model_validator(mode="after")
    def _agents_file_holds_together(self) -> Self:
        self.agents_config()  # an AgentsFileError (a ValueError) names the problem
        return self

    @model_validator(mode="after")
    def _refuse_development_credentials_in_production(self) -> Self:
        if self.app_env is not AppEnv.production:
            return self
        secret = self.livekit_api_secret.get_secret_value()
        if self.livekit_api_key == DEV_API_KEY or secret == DEV_API_SECRET:
            raise ValueError(
                "APP_ENV=production refuses the development LiveKit credentials: "
                "set LIVEKIT_API_KEY and LIVEKIT_API_SECRET to a generated pair"
            )
        if len(secret) < MIN_PRODUCTION_SECRET_LENGTH:
            raise ValueError(
                f"APP_ENV=production needs LIVEKIT_API_SECRET of at least "
                f"{MIN_PRODUCTION_SECRET_LENGTH} characters"
            )
        return self
