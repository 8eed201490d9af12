"""Cloud speech providers failing mid-conversation, on the wire: the `openai` preset's worker
talks to the FAKES of Deepgram's live STT and OpenAI's audio API, which then go down.

- With `STT_FALLBACK_PROVIDER=whisper` and `TTS_FALLBACK_PROVIDER=piper`, LiveKit's fallback
  adapters hand over to the local engines and the conversation goes on: the next question is
  heard and answered aloud.
- With no fallback, the user hears the apology for the STT ("having trouble hearing you"),
  spoken by the TTS that still works, instead of silence.

Each test has its own fakes (an outage must not reach other tests) and its own worker.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

import pytest

from harness.caller import VoiceCaller
from harness.fakes.openai_preset import OpenAIPresetCloud
from harness.fakes.scripted_llm import ScriptedLLM
from harness.fakes.voice_script import BENCH_ANSWER, BENCH_QUESTION, RULES
from harness.session_api import SessionApi
from harness.speech_samples import normalize_words
from harness.worker import Worker
from voice_agent.trouble import MESSAGES

WAIT = 60.0  # bound of one wait: a failing provider is retried before the fallback takes over


@pytest.fixture
async def cloud() -> AsyncIterator[OpenAIPresetCloud]:
    """This test's own openai-preset fakes, with the voice script's short plain answer."""
    cloud = OpenAIPresetCloud(ScriptedLLM(RULES))
    await cloud.start()
    await cloud.speech.prepare([BENCH_ANSWER, MESSAGES["stt_error"]])
    yield cloud
    await cloud.stop()


def heard(text: str) -> set[str]:
    return set(normalize_words(text))


async def ask(caller: VoiceCaller) -> str:
    """Say the plain question and transcribe the whole spoken reply."""
    turn = await caller.say(BENCH_QUESTION, within=WAIT)
    return await caller.transcribe_reply(turn, within=WAIT)


async def test_with_fallbacks_the_local_engines_take_over_and_the_call_goes_on(
    cloud: OpenAIPresetCloud, new_worker: Callable[..., Worker], session_api: SessionApi
) -> None:
    new_worker(
        "worker-fallbacks", IDLE_PROCESSES="1", **cloud.worker_settings(),
        STT_FALLBACK_PROVIDER="whisper", TTS_FALLBACK_PROVIDER="piper",
    )  # fmt: skip
    async with VoiceCaller.connect(session_api.url, "fallbacks") as caller:
        await caller.wait_for_greeting(WAIT)
        before = await ask(caller)
        assert {"projects", "track"} <= heard(before), before

        await cloud.deepgram.outage()
        cloud.speech.speech_fail_status = 503
        after = await ask(caller)

    assert {"projects", "track"} <= heard(after), f"no answer after the outage: {after!r}"
    utterances = [h.transcript for c in cloud.deepgram.connections for h in c.heard]
    assert sum("projects going" in u.lower() for u in utterances) == 1, (
        f"Deepgram heard the second question too: {utterances}"
    )
    refused = [r.detail for r in cloud.speech.failed]
    assert refused and refused[0] in BENCH_ANSWER, (
        f"the answer was asked of the OpenAI TTS first, which failed; Piper spoke it: {refused}"
    )


async def test_without_a_fallback_the_user_hears_that_the_agent_cannot_hear(
    cloud: OpenAIPresetCloud, new_worker: Callable[..., Worker], session_api: SessionApi
) -> None:
    new_worker("worker-no-fallback", IDLE_PROCESSES="1", **cloud.worker_settings())
    async with VoiceCaller.connect(session_api.url, "no-fallback") as caller:
        await caller.wait_for_greeting(WAIT)
        went_down = time.monotonic()
        await cloud.deepgram.outage()
        await caller.speak(BENCH_QUESTION)  # the STT may give up before or after it
        started = await caller.wait_for(
            lambda: caller.first_loud_after(went_down), WAIT, "the agent saying something"
        )
        await caller.wait_quiet(within=WAIT)
        apology = await caller.transcribe_agent(started - 0.05)
    assert {"trouble", "hearing"} <= heard(apology), apology
