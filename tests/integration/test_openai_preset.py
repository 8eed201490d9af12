"""The `openai` preset on the wire: the real worker (`PROVIDER_PRESET=openai`) with the real
Deepgram and OpenAI plugins, pointed by `DEEPGRAM_BASE_URL` and `OPENAI_BASE_URL` at the FAKES of
`harness.fakes.openai_preset` (Deepgram's live STT transcribing what it hears with the local
Whisper model; OpenAI's chat completions from the ScriptedLLM and its speech from Piper).

One spoken conversation serves the module; the plugins are also driven directly, without
LiveKit, to show the protocol details a conversation does not reach (interim results,
`UtteranceEnd`, `CloseStream`; the TTS's PCM format).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from livekit import rtc
from livekit.agents import stt as stt_types
from livekit.plugins import deepgram, openai

from harness.api_client import ApiClient
from harness.audio import AgentTranscriber, SpeechSynthesizer
from harness.caller import Turn, VoiceCaller
from harness.fakes.cloud_speech import OPENAI_SAMPLE_RATE
from harness.fakes.deepgram_live import ListenConnection
from harness.fakes.keys import FAKE_DEEPGRAM_KEY, FAKE_OPENAI_KEY
from harness.fakes.openai_preset import OpenAIPresetCloud
from harness.fakes.pm_script import RULES
from harness.fakes.scripted_llm import Rule, ScriptedLLM
from harness.processes import free_port
from harness.speech_samples import normalize_words, word_accuracy
from harness.worker import Worker, local_providers, start_worker, worker_env
from session_api.models import SessionState
from voice_common.transcript import (
    LATENCY_STAGES,
    TIMELINE_MARKS,
    AgentTurn,
    ToolCall,
    UserTurn,
)

WAIT = 40.0  # bound of any one wait for the agent (seconds)
QUESTION = "What is the status of Apollo?"
LANGUAGE = "en-GB"  # not the default, so that it can only have come from the session
MIN_WORD_ACCURACY = 0.8


def first_sentence(output: str) -> str:
    return output.split(". ")[0].rstrip(".") + "."


@pytest.fixture(scope="module")
def short_status(scripted_llm_server: ScriptedLLM) -> Iterator[None]:
    """For this module, the status answer is the tool's first sentence ("Apollo is ..."), not
    the half minute of tasks the project script reads out."""
    status_rule = next(r for r in RULES if r.tool == "get_project_status")
    short = Rule(status_rule.pattern, first_sentence, status_rule.tool, status_rule.arguments)
    original = scripted_llm_server.rules
    scripted_llm_server.rules = [short, *original]
    yield
    scripted_llm_server.rules = original


@pytest.fixture(scope="module")
def openai_worker(
    run_dir: Any, livekit_server: Any, redis_server: Any, fake_openai_cloud: OpenAIPresetCloud
) -> Iterator[Worker]:
    """The worker with the openai preset, every provider URL at the fakes."""
    settings = {
        **local_providers(fake_openai_cloud.openai_url),  # docs folder, offline model hub
        **fake_openai_cloud.worker_settings(),
        "WORKER_METRICS_PORT": str(free_port()),
        "IDLE_PROCESSES": "1",
        "PREPARED_GREETING": "true",  # the greeting's tests below
    }
    env = worker_env(livekit_server, redis_server.url, free_port(), **settings)
    worker = start_worker(env, run_dir / "logs", "openai-preset-worker")
    yield worker
    worker.stop()


@dataclass
class Conversation:
    caller: VoiceCaller
    greeting: str  # what the caller heard first, by Whisper
    turn: Turn
    answer: str  # the spoken answer to QUESTION, by Whisper
    record: SessionState
    listen: ListenConnection  # what the Deepgram fake received on this session's stream

    def answer_text(self) -> str:
        """The answer as the worker stored it."""
        return [e for e in self.record.transcript if isinstance(e, AgentTurn)][-1].text


@pytest.fixture(scope="module")
async def conversation(
    session_api: Any,
    openai_worker: Worker,
    fake_openai_cloud: OpenAIPresetCloud,
    short_status: None,
) -> AsyncIterator[Conversation]:
    """Greeting, one spoken question and its spoken answer, and the stored session record."""
    streams_before = len(fake_openai_cloud.deepgram.connections)
    async with VoiceCaller.connect(session_api.url, "openai-preset", language=LANGUAGE) as caller:
        await caller.wait_for_agent(WAIT)
        greeting_at = await caller.wait_for_greeting(WAIT)
        greeting = await caller.transcribe_agent(greeting_at - 0.05)
        turn = await caller.say(QUESTION, within=WAIT)
        answer = await caller.transcribe_reply(turn, within=WAIT)
        async with ApiClient(session_api.url) as api:
            record = await api.wait_session(
                caller.session_id,
                lambda s: sum(isinstance(e, AgentTurn) for e in s.transcript) >= 2,
                "holding the greeting and the answer",
                WAIT,
            )
        streams = fake_openai_cloud.deepgram.connections[streams_before:]
        heard = [c for c in streams if c.heard]
        assert heard, f"the Deepgram fake heard no utterance on {len(streams)} streams"
        yield Conversation(caller, greeting, turn, answer, record, heard[-1])


async def test_the_agent_greets_aloud_through_the_openai_tts(
    conversation: Conversation, fake_openai_cloud: OpenAIPresetCloud
) -> None:
    assert {"help", "projects"} <= set(normalize_words(conversation.greeting)), (
        conversation.greeting
    )
    spoken = [r for r in fake_openai_cloud.speech.requests if r.kind == "tts"]
    assert any(r.detail.startswith("Hello") for r in spoken), [r.detail for r in spoken]


async def test_the_next_session_hears_the_stored_greeting_with_no_tts_request(
    conversation: Conversation,
    session_api: Any,
    openai_worker: Worker,
    fake_openai_cloud: OpenAIPresetCloud,
) -> None:
    """The first greeting's audio was kept (`voice_agent.greeting`): a later session of a new
    user is greeted from it, and the TTS is not asked again."""
    requests_before = len(fake_openai_cloud.speech.requests)
    async with VoiceCaller.connect(session_api.url, "openai-preset-2", language=LANGUAGE) as caller:
        greeted = await caller.wait_for_greeting(WAIT)
        heard = await caller.transcribe_agent(greeted - 0.05)
    assert {"help", "projects"} <= set(normalize_words(heard)), heard
    again = fake_openai_cloud.speech.requests[requests_before:]
    assert not [r for r in again if r.detail.startswith("Hello")], again


async def test_the_question_reaches_deepgram_as_audio_and_comes_back_as_text(
    conversation: Conversation,
) -> None:
    listen = conversation.listen
    assert word_accuracy(QUESTION, listen.heard[0].transcript) >= MIN_WORD_ACCURACY, listen.heard
    assert listen.audio_seconds > conversation.turn.finished_at - conversation.turn.started_at
    users = [e for e in conversation.record.transcript if isinstance(e, UserTurn)]
    assert users and word_accuracy(QUESTION, users[0].text) >= MIN_WORD_ACCURACY, users
    sent = [e.text for e in conversation.caller.user_transcripts()]
    assert any(word_accuracy(QUESTION, text) >= MIN_WORD_ACCURACY for text in sent), sent


async def test_deepgram_is_asked_for_nova_3_the_language_and_the_project_names(
    conversation: Conversation,
) -> None:
    listen = conversation.listen
    assert listen.api_key == FAKE_DEEPGRAM_KEY
    assert listen.model == "nova-3"
    assert listen.language == LANGUAGE
    assert {"Apollo", "Mercury", "Priya"} <= set(listen.keyterms), listen.keyterms
    assert listen.param("encoding") == "linear16"
    assert listen.param("interim_results") == "true"
    assert "KeepAlive" in listen.controls, listen.controls


async def test_the_tool_is_called_and_the_answer_is_heard(
    conversation: Conversation, fake_openai_cloud: OpenAIPresetCloud
) -> None:
    tools = [e for e in conversation.record.transcript if isinstance(e, ToolCall)]
    assert [(t.name, t.arguments) for t in tools] == [
        ("get_project_status", {"project_name": "Apollo"})
    ]
    assert not tools[0].is_error, tools[0].output
    assert conversation.answer_text() == first_sentence(tools[0].output)
    assert "apollo" in normalize_words(conversation.answer), conversation.answer
    models = {body.get("model") for body in fake_openai_cloud.llm.requests}
    assert "gpt-4o-mini" in models, models


async def test_the_openai_tts_speaks_with_voice_alloy(
    conversation: Conversation, fake_openai_cloud: OpenAIPresetCloud
) -> None:
    spoken = [r for r in fake_openai_cloud.speech.requests if r.kind == "tts"]
    assert spoken, "the TTS fake was asked for speech"
    assert {(r.voice, r.model) for r in spoken} == {("alloy", "gpt-4o-mini-tts")}
    # the worker keeps the plugin's default format: MP3 in server-sent events
    assert {(r.response_format, r.stream_format) for r in spoken} == {("mp3", "sse")}
    assert any("Apollo" in r.detail for r in spoken), [r.detail for r in spoken]


async def test_every_turn_is_stored_with_its_latency(conversation: Conversation) -> None:
    agents = [e for e in conversation.record.transcript if isinstance(e, AgentTurn)]
    greeting, answer = agents[0], agents[-1]
    assert greeting.text.startswith("Hello")
    assert "Apollo" in answer.text
    measured = answer.latency.measured()
    assert set(LATENCY_STAGES) <= set(measured), measured
    assert all(value >= 0 for value in measured.values()), measured


async def test_every_answer_is_stored_with_its_timeline(conversation: Conversation) -> None:
    """The turn's moments, on the wall clock, in the order they must happen (the greeting
    answered no one and is prepared: it has the first frame pushed only)."""
    agents = [e for e in conversation.record.transcript if isinstance(e, AgentTurn)]
    greeting, answer = agents[0].timeline.marks(), agents[-1].timeline
    assert "agent_audio_published" in greeting, greeting
    # prepared: no LLM round trip before the first words
    assert not {"llm_request", "user_speech_ended"} & set(greeting), greeting
    marks = answer.marks()
    assert set(marks) == set(TIMELINE_MARKS) - {"stt_first_interim"} or set(marks) == set(
        TIMELINE_MARKS
    ), marks
    in_order = [
        ("user_speech_started", "user_speech_ended"),
        ("user_speech_ended", "vad_end_of_speech"),
        ("user_speech_ended", "end_of_turn"),
        ("user_speech_started", "stt_final"),
        ("llm_request", "llm_first_token"),
        ("llm_first_token", "llm_first_sentence"),
        ("tts_request", "tts_first_byte"),
        ("tts_first_byte", "agent_audio_published"),
        ("end_of_turn", "agent_audio_published"),
    ]
    for before, after in in_order:
        assert marks[before] <= marks[after], (before, after, marks)
    # the reply is the answer's: its LLM call came after the user started, not the greeting's
    assert marks["llm_request"] > marks["user_speech_started"], marks
    stored_at = agents[-1].at.timestamp()
    assert marks["agent_audio_published"] <= stored_at < marks["agent_audio_published"] + 30


# --- the plugins without LiveKit --------------------------------------------------------------


async def test_the_deepgram_plugin_gets_interims_finals_and_utterance_end(
    fake_openai_cloud: OpenAIPresetCloud,
) -> None:
    """The real plugin streaming a spoken sentence and a second of quiet, then closing."""
    rate = 16000
    speech = SpeechSynthesizer.pcm(QUESTION, rate) + bytes(rate * 2)
    async with aiohttp.ClientSession() as http:
        plugin = deepgram.STT(
            api_key=FAKE_DEEPGRAM_KEY,
            base_url=fake_openai_cloud.deepgram_url,
            utterance_end_ms=1000,
            keyterm=["Apollo"],
            http_session=http,
        )
        stream = plugin.stream()
        chunk = rate // 50 * 2  # 20 ms
        for offset in range(0, len(speech), chunk):
            piece = speech[offset : offset + chunk]
            stream.push_frame(rtc.AudioFrame(piece, rate, 1, len(piece) // 2))
        stream.end_input()
        events = [event async for event in stream]
        await stream.aclose()

    kinds = [e.type for e in events if e.type != stt_types.SpeechEventType.RECOGNITION_USAGE]
    assert kinds[0] == stt_types.SpeechEventType.START_OF_SPEECH, kinds
    assert stt_types.SpeechEventType.INTERIM_TRANSCRIPT in kinds, kinds
    finals = [e for e in events if e.type == stt_types.SpeechEventType.FINAL_TRANSCRIPT]
    assert len(finals) == 1 and kinds[-1] == stt_types.SpeechEventType.END_OF_SPEECH, kinds
    assert word_accuracy(QUESTION, finals[0].alternatives[0].text) >= MIN_WORD_ACCURACY
    ours = [c for c in fake_openai_cloud.deepgram.connections if c.param("utterance_end_ms")]
    listen = ours[-1]
    assert not listen.heard[0].finalized, "the pause ended the utterance, not the Finalize"
    assert listen.heard[0].end < len(speech) / 2 / rate - 1.0, "the endpoint is where speech ends"
    assert listen.controls[-1] == "CloseStream" and listen.closed_by_client, listen.controls
    assert not listen.errors, listen.errors


async def test_a_finalize_mid_speech_returns_what_was_said_so_far(
    fake_openai_cloud: OpenAIPresetCloud,
) -> None:
    """The plugin's flush (Deepgram's `Finalize`) while the speech goes on, no pause yet."""
    rate = 16000
    speech = SpeechSynthesizer.pcm(QUESTION, rate)
    async with aiohttp.ClientSession() as http:
        plugin = deepgram.STT(
            api_key=FAKE_DEEPGRAM_KEY,
            base_url=fake_openai_cloud.deepgram_url,
            interim_results=False,
            keyterm=["Apollo", "Finalize"],  # to find this test's stream
            http_session=http,
        )
        stream = plugin.stream()
        stream.push_frame(rtc.AudioFrame(speech, rate, 1, len(speech) // 2))
        stream.flush()
        final = None
        async for event in stream:
            if event.type == stt_types.SpeechEventType.FINAL_TRANSCRIPT:
                final = event
                stream.end_input()
        await stream.aclose()

    assert final is not None
    assert word_accuracy(QUESTION, final.alternatives[0].text) >= MIN_WORD_ACCURACY
    (listen,) = [c for c in fake_openai_cloud.deepgram.connections if "Finalize" in c.keyterms]
    assert "Finalize" in listen.controls, listen.controls
    assert [h.finalized for h in listen.heard] == [True], listen.heard


async def test_the_openai_tts_plugin_decodes_the_fakes_pcm(
    fake_openai_cloud: OpenAIPresetCloud,
) -> None:
    """`response_format=pcm`: raw 24 kHz samples, streamed, heard by Whisper."""
    plugin = openai.TTS(
        voice="alloy",
        api_key=FAKE_OPENAI_KEY,
        base_url=fake_openai_cloud.openai_url,
        response_format="pcm",
    )
    try:
        frames = [event.frame async for event in plugin.synthesize(QUESTION)]
    finally:
        await plugin.aclose()
    request = [r for r in fake_openai_cloud.speech.requests if r.response_format == "pcm"][-1]
    assert (request.voice, request.detail) == ("alloy", QUESTION)
    assert {f.sample_rate for f in frames} == {OPENAI_SAMPLE_RATE}
    audio = b"".join(bytes(f.data) for f in frames)
    heard = await AgentTranscriber.transcribe(audio, OPENAI_SAMPLE_RATE, vocabulary=["Apollo"])
    assert word_accuracy(QUESTION, heard) >= MIN_WORD_ACCURACY, heard
