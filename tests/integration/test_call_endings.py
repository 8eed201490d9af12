"""Calls that end well: the agent ends the call after a goodbye, and a silent user is asked
whether they are still there, then told goodbye. An AgentSession with no room runs the
production agents against the ScriptedLLM fake (this folder's conftest); the job's way of
ending (`SessionData.end_call`, `JobEnd.end` in the worker) is a future here that records the
reason and what the agent had said by then. The last test runs the real worker in a real room,
where the job ends the session record with the reason."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from livekit.agents import AgentSession
from livekit.agents.llm import ChatMessage
from livekit.agents.voice.events import ConversationItemAddedEvent

from harness.caller import VoiceCaller
from voice_agent.call_endings import AwayWatch
from voice_agent.session_data import SessionData
from voice_common.session_status import EndReason

AWAY_SECONDS = 0.3


class Ending:
    """Stands in for the job's `JobEnd.end`: what ended the call, and what the agent had said
    by then."""

    def __init__(self, session: AgentSession[SessionData]) -> None:
        self._session = session
        self.reason: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.said_before: list[str] = []

    def __call__(self, reason: str) -> None:
        self.said_before = agent_lines(self._session)
        if not self.reason.done():
            self.reason.set_result(reason)


def agent_lines(session: AgentSession) -> list[str]:
    return [
        m.text_content or ""
        for m in session.history.messages()
        if m.role == "assistant" and m.text_content
    ]


@asynccontextmanager
async def ending_session(
    start_session: Callable[..., AbstractAsyncContextManager[Any]],
) -> AsyncIterator[tuple[AgentSession, Ending]]:
    """The production agents with the job's endings attached: `AwayWatch`, and `Ending` as the
    session's way to end the call."""
    endings: list[Ending] = []

    def prepare(session: AgentSession[SessionData]) -> None:
        endings.append(Ending(session))
        session.userdata.end_call = endings[0]
        AwayWatch(session)

    async with start_session(user_away_timeout=AWAY_SECONDS, prepare=prepare) as (session, _):
        yield session, endings[0]


async def test_goodbye_ends_the_call_after_the_closing_sentence(start_session):
    async with ending_session(start_session) as (session, ending):
        result = await session.run(user_input="That's all, goodbye!")
        result.expect.next_event().is_function_call(name="end_call")
        result.expect.next_event().is_function_call_output(is_error=False)
        result.expect.next_event().is_message(role="assistant")
        assert await asyncio.wait_for(ending.reason, 10) == EndReason.agent_ended
    assert ending.said_before[-1] == "Goodbye, talk to you soon!", "spoken before the end"


async def test_a_question_is_not_a_goodbye(start_session):
    async with ending_session(start_session) as (session, ending):
        result = await session.run(user_input="What's the status of Apollo?")
        result.expect.next_event().is_function_call(name="get_project_status")
        assert not ending.reason.done()


async def test_a_silent_user_is_asked_then_told_goodbye(start_session):
    async with ending_session(start_session) as (_, ending):
        assert await asyncio.wait_for(ending.reason, 20) == EndReason.user_away
    assert ending.said_before[-2:] == [
        "Are you still there?",
        "I will end the call now, call again any time.",
    ]
    assert ending.said_before[0].startswith("Hello"), "the greeting came first"


async def test_a_user_who_answers_is_asked_again_later_not_cut_off(start_session):
    async with ending_session(start_session) as (session, ending):
        questions: asyncio.Queue[str] = asyncio.Queue()

        def _on_item(event: ConversationItemAddedEvent) -> None:
            item = event.item
            if isinstance(item, ChatMessage) and item.text_content == "Are you still there?":
                questions.put_nowait(item.text_content)

        session.on("conversation_item_added", _on_item)
        await asyncio.wait_for(questions.get(), 20)
        await session.run(user_input="Yes, what's the status of Atlas?")
        await asyncio.wait_for(questions.get(), 20)  # silent again: asked again, not cut off
        assert not ending.reason.done()
        assert await asyncio.wait_for(ending.reason, 20) == EndReason.user_away


async def test_the_worker_asks_a_silent_caller_then_ends_the_session_as_user_away(
    api_client, session_api, new_worker
):
    """The real worker in a real room: a caller who never speaks is asked whether they are
    still there, then told goodbye; the job ends the session with reason `user_away`, the
    questions in its transcript, and closes the room."""
    new_worker("away-worker", IDLE_PROCESSES="1", USER_AWAY_SECONDS="1.5")
    async with VoiceCaller.connect(session_api.url, "silent-caller", keep_audio=False) as caller:
        closed = asyncio.Event()
        caller.room.on("disconnected", lambda *_: closed.set())
        await caller.wait_for_greeting(30)
        state = await api_client.wait_ended(caller.session_id, within=60)
        await asyncio.wait_for(closed.wait(), 30)  # the job closed the room
    assert state.end_reason == EndReason.user_away
    said = [e.text for e in state.transcript if e.type == "agent"]
    assert said == [
        "Hello! How can I help with your projects?",
        "Are you still there?",
        "I will end the call now, call again any time.",
    ]
