"""Fixtures of the agent behaviour tests: an AgentSession with no room running the production
agents (`build_agent`) on real Redis data, with the ScriptedLLM fake behind the real OpenAI
plugin (`LLM_PROVIDER=openai_compatible`)."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from livekit.agents import AgentSession
from redis.asyncio import Redis

from harness.fakes.pm_script import RULES
from harness.fakes.scripted_llm import ScriptedLLM
from voice_agent.providers import build_llm
from voice_agent.session_data import SessionData
from voice_agent.session_setup import build_agent
from voice_agent.settings import LLMProvider, WorkerSettings
from voice_agent.transcript import TranscriptRecorder
from voice_common.projects import ProjectStore

AgentRun = tuple[AgentSession[SessionData], TranscriptRecorder]
StartSession = Callable[..., AbstractAsyncContextManager[AgentRun]]


@pytest.fixture
async def redis(redis_server) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url, decode_responses=True)
    await ProjectStore(client).seed_if_empty()
    yield client
    await client.aclose()


@pytest.fixture
async def scripted_llm() -> AsyncIterator[ScriptedLLM]:
    fake = ScriptedLLM(RULES)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def settings(scripted_llm) -> WorkerSettings:
    return WorkerSettings(
        provider_preset="local", llm_base_url=scripted_llm.url, docs_folder="docs", memory_turns=6
    )


@pytest.fixture
def start_session(settings, redis) -> StartSession:
    """A text-mode AgentSession running the production agents for one user; `prepare` sees the
    session before it starts (to attach what the job attaches)."""

    @asynccontextmanager
    async def start(
        user_id: str = "behaviour-user",
        session_id: str = "behaviour-session",
        *,
        agent_id: str | None = None,
        user_away_timeout: float | None = None,
        prepare: Callable[[AgentSession[SessionData]], None] | None = None,
    ) -> AsyncIterator[AgentRun]:
        data = SessionData(
            session_id=session_id, user_id=user_id, language="en-US", agent_id=agent_id
        )
        agent = await build_agent(settings, redis, data)
        recorder = TranscriptRecorder(redis, session_id, retention_seconds=3600)
        llm = build_llm(settings, LLMProvider.openai_compatible)
        session = AgentSession[SessionData](
            llm=llm, userdata=data, user_away_timeout=user_away_timeout
        )
        async with llm, session:
            recorder.attach(session)
            if prepare is not None:
                prepare(session)
            await session.start(agent)
            if session.current_speech is not None:  # the greeting, heard before the user speaks
                await session.current_speech
            yield session, recorder
        await recorder.aclose()

    return start
