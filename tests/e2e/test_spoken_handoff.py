"""A spoken conversation through a handoff and back: a scripted caller (`VoiceCaller`) asks the
front desk for the documentation specialist, hears the specialist greet, asks to go back to
its projects and hears the front desk again. The real stack (livekit-server, Redis,
session-api, the worker with the local Whisper and Piper), the ScriptedLLM behind the OpenAI
plugin. The caller sees the agent in charge as the worker participant's attribute; the
session record names the agent of every turn. Every wait is bounded; nothing here times speed.
"""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from harness.caller import VoiceCaller
from voice_common.agents_file import ACTIVE_AGENT_ATTRIBUTE

WAIT = 30.0


@pytest.fixture
async def caller(session_api: Any, voice_worker: Any) -> AsyncIterator[VoiceCaller]:
    async with VoiceCaller.connect(session_api.url, "spoken-handoff") as caller:
        await caller.wait_for_agent(WAIT)
        await caller.wait_for_greeting(WAIT)
        yield caller


def active_agent(caller: VoiceCaller) -> str | None:
    agent = next(
        (
            p
            for p in caller.room.remote_participants.values()
            if p.identity == caller.agent_identity
        ),
        None,
    )
    return agent.attributes.get(ACTIVE_AGENT_ATTRIBUTE) if agent else None


async def test_the_caller_is_handed_to_the_specialist_and_back(caller: VoiceCaller):
    assert active_agent(caller) == "Project assistant"

    turn = await caller.say("Let me talk to the documentation specialist.", within=WAIT)
    heard = (await caller.transcribe_reply(turn, within=WAIT)).lower()
    assert "specialist" in heard, heard
    await caller.wait_for(
        lambda: active_agent(caller) == "Documentation specialist", WAIT, "the specialist"
    )

    turn = await caller.say("Back to my projects, please.", within=WAIT)
    heard = (await caller.transcribe_reply(turn, within=WAIT)).lower()
    assert "projects" in heard, heard
    await caller.wait_for(
        lambda: active_agent(caller) == "Project assistant", WAIT, "the front desk again"
    )

    record = await caller.fetch_session()
    said = [(e["agent"], e["text"]) for e in record["transcript"] if e["type"] == "agent"]
    assert [agent for agent, _ in said] == ["pm-agent", "docs-specialist", "pm-agent"], said
    tools = [(e["agent"], e["name"]) for e in record["transcript"] if e["type"] == "tool"]
    assert tools == [
        ("pm-agent", "transfer_to_docs_specialist"),
        ("docs-specialist", "transfer_to_pm_agent"),
    ]
