"""A provider that fails or hangs: the agent says it is having trouble instead of going silent,
a configured fallback provider takes over, and the session goes on."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from livekit.agents import AgentSession
from livekit.agents.llm import ChatMessage
from redis.asyncio import Redis

from harness.fakes.pm_script import RULES
from harness.fakes.scripted_llm import ScriptedLLM
from voice_agent.agent import SessionData
from voice_agent.providers import session_llm
from voice_agent.session_setup import build_agent, session_conn_options
from voice_agent.settings import WorkerSettings
from voice_agent.trouble import MESSAGES, TroubleNotifier

QUESTION = "What's the status of Apollo?"


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[ScriptedLLM, ScriptedLLM]]:
    primary, fallback = ScriptedLLM(RULES), ScriptedLLM(RULES)
    await primary.start()
    await fallback.start()
    yield primary, fallback
    await primary.stop()
    await fallback.stop()


@asynccontextmanager
async def running_session(settings: WorkerSettings, redis_url: str):
    """The production agent and LLM composition in a text-mode session, with the notifier."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    data = SessionData(session_id="failure-session", user_id="failure-user", language="en-US")
    agent = await build_agent(settings, redis, data)
    llm = session_llm(settings)
    async with (
        llm,
        AgentSession[SessionData](
            llm=llm, userdata=data, conn_options=session_conn_options(settings)
        ) as session,
    ):
        TroubleNotifier(session)
        said: asyncio.Queue[str] = asyncio.Queue()
        session.on(
            "conversation_item_added",
            lambda ev: (
                isinstance(ev.item, ChatMessage)
                and ev.item.role == "assistant"
                and said.put_nowait(ev.item.text_content or "")
            ),
        )
        await session.start(agent)
        await asyncio.wait_for(said.get(), 30)  # the greeting
        yield session, said
    await redis.aclose()


async def next_reply(said: asyncio.Queue[str]) -> str:
    return await asyncio.wait_for(said.get(), 60)


async def test_a_failing_llm_makes_the_agent_say_so_and_the_session_goes_on(fakes, redis_server):
    primary, _ = fakes
    settings = WorkerSettings(provider_preset="local", llm_base_url=primary.url)
    async with running_session(settings, redis_server.url) as (session, said):
        primary.fail_status = 500
        session.generate_reply(user_input=QUESTION)
        assert await next_reply(said) == MESSAGES["llm_error"]

        primary.fail_status = None
        session.generate_reply(user_input=QUESTION)
        assert "Apollo is" in await next_reply(said)


async def test_a_hanging_llm_times_out_into_the_same_apology(fakes, redis_server):
    primary, _ = fakes
    settings = WorkerSettings(
        provider_preset="local", llm_base_url=primary.url, llm_timeout_seconds=1
    )
    async with running_session(settings, redis_server.url) as (session, said):
        primary.first_token_delay = 5  # well past the 1 s timeout, twice
        session.generate_reply(user_input=QUESTION)
        assert await next_reply(said) == MESSAGES["llm_error"]


async def test_a_configured_fallback_llm_answers_when_the_primary_fails(
    fakes, redis_server, monkeypatch
):
    primary, fallback = fakes
    primary.fail_status = 503
    # The primary is the OpenAI provider; the OpenAI SDK reads its base URL from OPENAI_BASE_URL.
    monkeypatch.setenv("OPENAI_BASE_URL", primary.url)
    settings = WorkerSettings(
        provider_preset="local",
        llm_provider="openai",
        openai_api_key="sk-fake",
        llm_fallback_provider="openai_compatible",
        llm_base_url=fallback.url,
    )
    async with running_session(settings, redis_server.url) as (session, said):
        session.generate_reply(user_input=QUESTION)
        assert "Apollo is" in await next_reply(said)
    assert primary.requests, "the primary was tried first"
    assert any("Apollo" in str(r["messages"]) for r in fallback.requests)
