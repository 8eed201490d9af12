"""The `sarvam` preset on the wire: the real worker (`PROVIDER_PRESET=sarvam`) with LiveKit's
Sarvam plugin for STT and TTS, pointed by `SARVAM_BASE_URL` at the Sarvam fake (which hears the
audio with the local Whisper model and speaks with the Piper voice), and a scripted caller that
talks to it through livekit-server as a browser user does.

The preset's LLM is OpenAI's, its plugin pointed by `OPENAI_BASE_URL` at the ScriptedLLM.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from livekit.agents.utils import http_context

from harness.api_client import ApiClient
from harness.audio import AgentTranscriber
from harness.caller import VoiceCaller
from harness.fakes.keys import FAKE_SARVAM_KEY
from harness.fakes.pm_script import RULES
from harness.fakes.sarvam import SarvamFake
from harness.fakes.scripted_llm import ScriptedLLM
from harness.session_api import SessionApi
from harness.speech_samples import normalize_words, word_accuracy
from harness.worker import Worker
from voice_agent.providers import build_tts
from voice_agent.settings import TTSProvider, WorkerSettings

WAIT = 30.0  # bound of any one wait for the agent (seconds)
HEARD_SECONDS = 4.0  # of the status answer (half a minute long), heard before checking it
QUESTION = "What is the status of Apollo?"
GREETING = RULES[0].reply


@pytest.fixture
def sarvam_worker(
    new_worker: Callable[..., Worker], sarvam_fake: SarvamFake, scripted_llm_server: ScriptedLLM
) -> Callable[[str], Worker]:
    """Start a `sarvam` preset worker on the fakes: `sarvam_worker("en")` (names its log)."""

    def start(name: str) -> Worker:
        return new_worker(
            f"voice-agent-sarvam-{name}",
            IDLE_PROCESSES="1",
            **sarvam_fake.worker_settings(scripted_llm_server.url),
        )

    return start


def system_prompts(requests: list[dict[str, Any]]) -> list[str]:
    """The agent's instructions (the first, system, message) of each chat completion request."""
    firsts = [body["messages"][0] for body in requests]
    return [str(m.get("content")) for m in firsts if m.get("role") == "system"]


async def test_en_in_the_agent_greets_hears_calls_the_tool_and_answers_through_sarvam(
    sarvam_worker: Callable[[str], Worker],
    sarvam_fake: SarvamFake,
    session_api: SessionApi,
    api_client: ApiClient,
) -> None:
    sarvam_worker("en")
    streams_before, replies_before = len(sarvam_fake.stt_streams), len(sarvam_fake.tts_requests)
    async with VoiceCaller.connect(session_api.url, "sarvam-en", language="en-IN") as caller:
        await caller.wait_for_agent(WAIT)
        greeted = await caller.wait_for_greeting(WAIT)
        greeting = await caller.transcribe_agent(greeted - 0.05)
        assert word_accuracy(str(GREETING), greeting) >= 0.8, greeting

        turn = await caller.say(QUESTION, within=WAIT)
        started = turn.reply_started_at or 0.0
        await caller.wait_for(
            lambda: caller.loud_times[-1] - started >= HEARD_SECONDS, WAIT, "the status answer"
        )
        heard = await caller.transcribe_agent(started - 0.05)
        assert {"status", "apollo", "track"} <= set(normalize_words(heard)), heard

        state = await api_client.wait_session(
            caller.session_id,
            lambda s: any(e.type == "tool" for e in s.transcript),
            "showing the tool call",
        )

    # the question went through Sarvam's STT protocol: the fake heard it in the audio it got
    streams = sarvam_fake.stt_streams[streams_before:]
    assert streams, "the worker opened a Sarvam STT stream"
    assert {(s.language, s.model, s.api_key) for s in streams} == {
        ("en-IN", "saaras:v3", FAKE_SARVAM_KEY)
    }
    fake_heard = [t for s in streams for t in s.transcripts]
    assert any(word_accuracy(QUESTION, t) >= 0.9 for t in fake_heard), fake_heard

    # the replies were spoken through Sarvam's TTS protocol, in en-IN
    replies = sarvam_fake.tts_requests[replies_before:]
    assert {(r.language, r.speaker, r.model, r.transport) for r in replies} == {
        ("en-IN", "anushka", "bulbul:v2", "ws")
    }
    assert any("How can I help" in r.text for r in replies), [r.text for r in replies]
    assert any("Apollo is" in r.text for r in replies), [r.text for r in replies]

    # the turns are in Redis, as the API serves them
    users = [e for e in state.transcript if e.type == "user"]
    assert users and word_accuracy(QUESTION, users[-1].text) >= 0.9, users
    tools = [e for e in state.transcript if e.type == "tool"]
    assert [(t.name, t.arguments) for t in tools] == [
        ("get_project_status", {"project_name": "Apollo"})
    ]
    agents = [e for e in state.transcript if e.type == "agent"]
    assert agents and agents[0].text == GREETING, agents


async def test_hi_in_reaches_sarvam_stt_and_tts_and_the_agent_is_told_to_speak_hindi(
    sarvam_worker: Callable[[str], Worker],
    sarvam_fake: SarvamFake,
    scripted_llm_server: ScriptedLLM,
    session_api: SessionApi,
) -> None:
    sarvam_worker("hi")
    streams_before, replies_before = len(sarvam_fake.stt_streams), len(sarvam_fake.tts_requests)
    requests_before = len(scripted_llm_server.requests)
    async with VoiceCaller.connect(session_api.url, "sarvam-hi", language="hi-IN") as caller:
        await caller.wait_for_agent(WAIT)
        await caller.wait_for_greeting(WAIT)
        await caller.say(QUESTION, within=WAIT)  # answered once the fake transcribed it

    streams = sarvam_fake.stt_streams[streams_before:]
    assert streams and {s.language for s in streams} == {"hi-IN"}, streams
    # Whisper tiny.en hears English: the fake labels what it heard with the language asked for
    assert any(word_accuracy(QUESTION, t) >= 0.9 for s in streams for t in s.transcripts)

    replies = sarvam_fake.tts_requests[replies_before:]
    assert replies and {r.language for r in replies} == {"hi-IN"}, replies

    prompts = system_prompts(scripted_llm_server.requests[requests_before:])
    assert prompts and all("Speak Hindi." in p for p in prompts), prompts


async def test_the_plugins_one_shot_synthesis_is_answered_by_the_fake_too(
    sarvam_fake: SarvamFake,
) -> None:
    """The agent streams, but `synthesize()` (Sarvam's REST call) goes under SARVAM_BASE_URL as
    well, and what comes back is the text, spoken."""
    settings = WorkerSettings(
        provider_preset="sarvam",
        sarvam_api_key=FAKE_SARVAM_KEY,
        openai_api_key="unused",
        sarvam_base_url=sarvam_fake.url,
    )
    tts = build_tts(settings, TTSProvider.sarvam, "hi-IN")
    async with http_context.open():
        frames = [event.frame async for event in tts.synthesize(str(GREETING))]
    heard = await AgentTranscriber.transcribe(
        b"".join(bytes(f.data) for f in frames), tts.sample_rate
    )
    assert word_accuracy(str(GREETING), heard) >= 0.8, heard
    last = sarvam_fake.tts_requests[-1]
    assert (last.transport, last.language, last.text) == ("rest", "hi-IN", GREETING)
