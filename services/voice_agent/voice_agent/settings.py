"""Worker configuration, read from the environment (and `.env`)."""

from pydantic import Field

from voice_common.settings import CommonSettings


class WorkerSettings(CommonSettings):
    agent_name: str = Field(
        "pm-agent", description="Name the worker registers for explicit dispatch (the API's agent)."
    )
    worker_http_host: str = Field("127.0.0.1", description="Interface of the health endpoint.")
    worker_http_port: int = Field(
        8081, description="Port of the worker's health endpoint (GET / answers 200 when healthy)."
    )
