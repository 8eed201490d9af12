"""Worker configuration, read from the environment (and `.env`)."""

from pydantic import Field

from voice_common.livekit_settings import LiveKitSettings


class WorkerSettings(LiveKitSettings):
    agent_name: str = Field(
        "pm-agent", description="Name the worker registers for explicit dispatch (the API's agent)."
    )
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis connection URL.")
    worker_http_host: str = Field("127.0.0.1", description="Interface of the health endpoint.")
    worker_http_port: int = Field(
        8081, description="Port of the worker's health endpoint (GET / answers 200 when healthy)."
    )
