"""Prometheus metrics of the worker.

With `JOB_EXECUTOR=process` jobs run in child processes; AgentServer serves /metrics in
Prometheus multiprocess mode (`worker.metrics_dir`), so these are recorded in the job processes
and summed there. With thread jobs they are recorded and served in the one process.
"""

from livekit.agents.voice.events import FunctionToolsExecutedEvent
from prometheus_client import Counter, Gauge, Histogram

from voice_common.transcript import LATENCY_STAGES

STAGE_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)

TURN_LATENCY = Histogram(
    "voice_agent_turn_latency_seconds",
    "Per-turn latency by stage: " + ", ".join(LATENCY_STAGES),
    ["stage"],
    buckets=STAGE_BUCKETS,
)
ACTIVE_SESSIONS = Gauge(
    "voice_agent_active_sessions",
    "Sessions this worker is running",
    multiprocess_mode="livesum",
)
TOOL_CALLS = Counter(
    "voice_agent_tool_calls_total",
    "Tool calls by tool and outcome (ok, error)",
    ["tool", "outcome"],
)
SESSIONS_ENDED = Counter(
    "voice_agent_sessions_ended_total", "Sessions ended, by how they ended", ["reason"]
)


def observe_turn(latency: dict[str, float]) -> None:
    for stage, seconds in latency.items():
        TURN_LATENCY.labels(stage).observe(seconds)


def count_tool_calls(event: FunctionToolsExecutedEvent) -> None:
    for call, output in event.zipped():
        TOOL_CALLS.labels(call.name, "error" if output.is_error else "ok").inc()
