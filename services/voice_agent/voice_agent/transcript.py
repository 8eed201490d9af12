"""`TranscriptRecorder`: every user turn, agent turn and tool call, appended to the session's
Redis record as it happens, with timestamps, per-turn latency and each agent turn's timeline
(`turn_timeline`).

Entries are `voice_common.transcript` models, queued and written in order by one task. While
Redis is unavailable (a restart) the writer keeps retrying the same entry, so nothing is lost or
reordered; `aclose()` waits up to FLUSH_SECONDS for the queue to drain, then reports what could
not be written.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from livekit.agents import AgentSession
from livekit.agents.llm import AgentHandoff, ChatMessage
from livekit.agents.llm.chat_context import MetricsReport
from livekit.agents.voice.events import ConversationItemAddedEvent, FunctionToolsExecutedEvent
from redis.asyncio import Redis
from redis.exceptions import RedisError

from voice_common import redis_keys as keys
from voice_common.transcript import AgentTurn, LatencyStages, ToolCall, UserTurn

from .turn_timeline import TurnTimelines

log = logging.getLogger(__name__)

RETRY_BACKOFF_SECONDS = (0.1, 0.2, 0.5, 1.0)  # then every second until Redis answers
TOOL_OUTPUT_LIMIT = 2000
FLUSH_SECONDS = 5.0


def _now() -> datetime:
    return datetime.now(UTC)


def _arguments(text: str) -> dict[str, Any]:
    """A tool call's arguments; {"raw": text} when the LLM's were not a JSON object."""
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {"raw": text}
    return value if isinstance(value, dict) else {"raw": text}


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def user_latency(metrics: MetricsReport) -> LatencyStages:
    """The user side of a turn, from the user message's metrics."""
    return LatencyStages(
        end_of_turn_delay=_seconds(metrics.get("end_of_turn_delay")),
        stt_delay=_seconds(metrics.get("transcription_delay")),
    )


def agent_latency(metrics: MetricsReport, user: LatencyStages) -> LatencyStages:
    """The whole turn: the user side's delays and the agent message's own stages."""
    return LatencyStages(
        end_of_turn_delay=user.end_of_turn_delay,
        stt_delay=user.stt_delay,
        voice_to_voice=_seconds(metrics.get("e2e_latency")),
        llm_ttft=_seconds(metrics.get("llm_node_ttft")),
        tts_ttfb=_seconds(metrics.get("tts_node_ttfb")),
    )


@dataclass
class TurnStats:
    """What the usage summary counts, kept as entries are recorded."""

    user_turns: int = 0
    agent_turns: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    latencies: dict[str, list[float]] = field(default_factory=dict)

    def add_latency(self, values: dict[str, float]) -> None:
        for name, value in values.items():
            self.latencies.setdefault(name, []).append(value)

    def summary(self) -> dict[str, Any]:
        means = {
            f"mean_{name}": round(sum(v) / len(v), 4) for name, v in self.latencies.items() if v
        }
        return {
            "user_turns": self.user_turns,
            "agent_turns": self.agent_turns,
            "tool_calls": self.tool_calls,
            "tool_errors": self.tool_errors,
            **means,
        }


class TranscriptRecorder:
    def __init__(
        self,
        redis: Redis,
        session_id: str,
        retention_seconds: int,
        on_latency: Callable[[dict[str, float]], None] | None = None,
    ) -> None:
        self._redis = redis
        self._key = keys.transcript(session_id)
        self._retention = retention_seconds
        self._on_latency = on_latency
        self._queue: asyncio.Queue[UserTurn | AgentTurn | ToolCall] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._last_user_latency = LatencyStages()
        self._pending = 0  # queued or being written
        self._agent: str | None = None  # in charge, from LiveKit's AgentHandoff items
        self.stats = TurnStats()
        self._timelines = TurnTimelines()

    def attach(self, session: AgentSession) -> None:
        self._timelines.attach(session)
        session.on("conversation_item_added", self._on_item)
        session.on("function_tools_executed", self._on_tools)
        self._writer = asyncio.create_task(self._write_forever(), name="transcript-writer")

    def _on_item(self, event: ConversationItemAddedEvent) -> None:
        item = event.item
        if isinstance(item, AgentHandoff):
            self._agent = item.new_agent_id
            return
        if not isinstance(item, ChatMessage) or item.role not in ("user", "assistant"):
            return
        text = item.text_content or ""
        if item.role == "user":
            self.stats.user_turns += 1
            self._last_user_latency = user_latency(item.metrics)
            self._timelines.user_turn(item)
            self._enqueue(UserTurn(text=text, latency=self._last_user_latency, at=_now()))
            return
        self.stats.agent_turns += 1
        # The agent turn carries the whole turn's breakdown: the user side's delays too.
        latency = agent_latency(item.metrics, self._last_user_latency)
        self._last_user_latency = LatencyStages()
        measured = latency.measured()
        self.stats.add_latency(measured)
        if self._on_latency and measured:
            self._on_latency(measured)
        timeline = self._timelines.reply(item)
        self._enqueue(
            AgentTurn(
                text=text,
                interrupted=item.interrupted,
                latency=latency,
                timeline=timeline,
                agent=self._agent,
                at=_now(),
            )
        )

    def _on_tools(self, event: FunctionToolsExecutedEvent) -> None:
        for call, output in event.zipped():
            self.stats.tool_calls += 1
            self.stats.tool_errors += int(output.is_error)
            self._enqueue(
                ToolCall(
                    name=call.name,
                    arguments=_arguments(call.arguments),
                    output=str(output.output)[:TOOL_OUTPUT_LIMIT],
                    is_error=output.is_error,
                    agent=self._agent,
                    at=_now(),
                )
            )

    def _enqueue(self, entry: UserTurn | AgentTurn | ToolCall) -> None:
        self._pending += 1
        self._queue.put_nowait(entry)

    async def _write_forever(self) -> None:
        while True:
            entry = await self._queue.get()
            await self._write(entry.model_dump_json())
            self._pending -= 1
            self._queue.task_done()

    async def _write(self, line: str) -> None:
        """Append one entry, retrying until Redis takes it (the writer is cancelled at close)."""
        attempt = 0
        while True:
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.rpush(self._key, line)
                    pipe.expire(self._key, self._retention)
                    await pipe.execute()
                return
            except RedisError as exc:
                if attempt == 0:
                    log.warning(
                        "transcript write waiting for Redis",
                        extra={"error": type(exc).__name__},
                    )
                await asyncio.sleep(
                    RETRY_BACKOFF_SECONDS[min(attempt, len(RETRY_BACKOFF_SECONDS) - 1)]
                )
                attempt += 1

    async def aclose(self) -> None:
        """Write what is queued (for at most FLUSH_SECONDS), then stop the writer."""
        if self._writer is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), FLUSH_SECONDS)
        if unwritten := self._queue.qsize() + (0 if self._queue.empty() else 1):
            log.error("transcript entries lost", extra={"count": unwritten})
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
