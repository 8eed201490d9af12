"""Whether the workers of an agent can hold a conversation: what each worker reports about its
providers, and what session-api reads back for the web client.

A worker that runs but cannot answer (no OPENAI_API_KEY and no local LLM server, say) would
otherwise greet the user and then apologise on every turn. Each worker checks its providers when
it registers and every `REPORT_INTERVAL_SECONDS` after, and writes the result under its own key
with a TTL, so a stopped worker's report disappears by itself.
"""

from datetime import datetime

from pydantic import BaseModel, Field
from redis.asyncio import Redis

REPORT_INTERVAL_SECONDS = 15.0
REPORT_TTL_SECONDS = 45  # three missed reports and the worker is no longer counted


def readiness_key(agent_name: str, worker_id: str) -> str:
    return f"agent:{agent_name}:worker:{worker_id}:readiness"


class WorkerReadiness(BaseModel):
    """One worker's report: `problems` is empty when it can hold a conversation."""

    worker_id: str
    agent_name: str
    problems: list[str] = Field(
        default_factory=list, description="What stops the worker from answering, and the fix."
    )
    checked_at: datetime

    @property
    def ready(self) -> bool:
        return not self.problems


async def publish(redis: Redis, report: WorkerReadiness) -> None:
    await redis.set(
        readiness_key(report.agent_name, report.worker_id),
        report.model_dump_json(),
        ex=REPORT_TTL_SECONDS,
    )


async def reports(redis: Redis, agent_name: str) -> list[WorkerReadiness]:
    """The current reports of the workers registered for `agent_name`."""
    keys = [key async for key in redis.scan_iter(match=readiness_key(agent_name, "*"))]
    values = await redis.mget(keys) if keys else []
    return [WorkerReadiness.model_validate_json(value) for value in values if value]
