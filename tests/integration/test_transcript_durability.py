"""Transcript writes survive a Redis restart: buffered, retried, none lost, in order."""

import asyncio
import json

from livekit.agents import AgentSession
from livekit.agents.llm import ChatMessage
from livekit.agents.voice.events import ConversationItemAddedEvent
from redis.asyncio import Redis

from voice_agent.transcript import TranscriptRecorder
from voice_common import redis_keys as keys


def say(session: AgentSession, role: str, text: str) -> None:
    """What AgentSession emits when a user or agent turn is added to the conversation."""
    item = ChatMessage(role=role, content=[text])
    session.emit("conversation_item_added", ConversationItemAddedEvent(item=item))


async def wait_until(predicate) -> None:
    """Poll a condition (bounded by the test timeout)."""
    while not await predicate():  # noqa: ASYNC110 - polls Redis and the log, not our own state
        await asyncio.sleep(0.02)


async def test_turns_spoken_while_redis_restarts_are_all_written_in_order(private_redis, caplog):
    redis = Redis.from_url(private_redis.url, decode_responses=True)
    session: AgentSession = AgentSession()
    recorder = TranscriptRecorder(redis, "durable-session", retention_seconds=3600)
    recorder.attach(session)
    turns = [
        ("user", f"question {i}") if i % 2 == 0 else ("assistant", f"answer {i}") for i in range(6)
    ]

    key = keys.transcript("durable-session")

    for role, text in turns[:2]:
        say(session, role, text)
    await wait_until(lambda: _length_is(redis, key, 2))
    private_redis.stop()
    for role, text in turns[2:]:
        say(session, role, text)  # Redis is down: these wait in the recorder

    async def writer_is_waiting() -> bool:
        return "transcript write waiting for Redis" in caplog.text

    await wait_until(writer_is_waiting)
    private_redis.start()
    await recorder.aclose()

    entries = [json.loads(e) for e in await redis.lrange(key, 0, -1)]
    await redis.aclose()
    assert [e["text"] for e in entries] == [text for _, text in turns]
    assert [e["type"] for e in entries] == ["user", "agent"] * 3


async def _length_is(redis: Redis, key: str, length: int) -> bool:
    return await redis.llen(key) == length
