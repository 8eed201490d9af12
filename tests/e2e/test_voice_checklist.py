"""The validation checklist, spoken, once per provider preset: a scripted caller
(`harness.caller.VoiceCaller`) talks to the real stack the fixtures start (livekit-server,
Redis, session-api, the worker) as a browser user would. The presets:

- `local`: Whisper and Piper in the worker, the ScriptedLLM behind the OpenAI plugin;
- `sarvam` (en-IN): LiveKit's Sarvam STT and TTS plugins against the Sarvam FAKE (it hears the
  audio with the local Whisper model and speaks with the Piper voice), and the preset's OpenAI
  LLM plugin against the ScriptedLLM;
- `openai`: LiveKit's Deepgram STT plugin against the Deepgram live-streaming FAKE (it hears the
  audio with the local Whisper model), and the OpenAI LLM and TTS plugins against one FAKE
  OpenAI API (the ScriptedLLM's chat completions, TTS spoken by the Piper voice).

One conversation per preset serves the module, turn after turn, as a user would hold it; each
test waits on what the caller observes (room events, audio, transcripts), every wait bounded.
Nothing here asserts on speed: the bounds only stop a wait that would otherwise hang.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from harness.caller import Turn, VoiceCaller
from harness.fakes.pm_script import NEXT_MONTH
from harness.fakes.scripted_llm import ScriptedLLM
from harness.fakes.voice_script import (
    BENCH_ANSWER,
    BENCH_QUESTION,
    LONG_ANSWER,
    LONG_QUESTION,
    VOICE_RULES,
)
from harness.speech_samples import normalize_words, word_accuracy
from harness.worker import Worker
from voice_agent.log_messages import WORKER_READY
from voice_common.logs import find_log_records, parse_log_records
from voice_common.transcript import LATENCY_STAGES

MIN_WORD_ACCURACY = 0.9
WAIT = 30.0  # bound of any one wait for the agent (seconds)
STOP_BOUND = 3.0  # the agent must go silent this soon after the caller starts talking over it
STATUS_QUESTION = "What is the status of Apollo?"
TASK_REQUEST = "Create a task to update the onboarding docs in Apollo for Priya."
TASK_TITLE = "update the onboarding docs"
HEARD_SECONDS = 4.0  # of a long answer, before checking or interrupting it


@pytest.fixture(scope="module")
def voice_rules(scripted_llm_server: ScriptedLLM) -> Iterator[None]:
    """The voice script's extra rules (a long answer, a plain one) after the project rules, for
    this module only."""
    original = scripted_llm_server.rules
    scripted_llm_server.rules = [*original, *VOICE_RULES]
    yield
    scripted_llm_server.rules = original


# Each preset and the language its caller speaks.
PRESETS = {"local": "en-US", "openai": "en-US", "sarvam": "en-IN"}


@pytest.fixture(scope="module", params=list(PRESETS))
def preset(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def voice_worker(
    preset: str, launch_worker: Callable[..., Worker], request: pytest.FixtureRequest
) -> Iterator[Worker]:
    """This preset's worker, the only one registered while its conversation runs."""
    settings: dict[str, str] = {"IDLE_PROCESSES": "1"}
    if preset == "openai":
        settings |= request.getfixturevalue("fake_openai_cloud").worker_settings()
    elif preset == "sarvam":
        llm_url = request.getfixturevalue("scripted_llm_server").url
        settings |= request.getfixturevalue("sarvam_fake").worker_settings(llm_url)
    worker = launch_worker(f"voice-agent-{preset}", **settings)
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
async def caller(
    session_api: Any, voice_worker: Worker, voice_rules: None, preset: str
) -> AsyncIterator[VoiceCaller]:
    """One caller in one session for the whole module, past the agent's greeting."""
    language = PRESETS[preset]
    async with VoiceCaller.connect(
        session_api.url, f"checklist-{preset}", language=language
    ) as caller:
        await caller.wait_for_agent(WAIT)
        await caller.wait_for_greeting(WAIT)
        yield caller


async def session_record(client: httpx.AsyncClient, caller: VoiceCaller) -> dict[str, Any]:
    response = await client.get(f"/api/voice/session/{caller.session_id}")
    assert response.status_code == 200, response.text
    record: dict[str, Any] = response.json()
    return record


async def wait_record(
    client: httpx.AsyncClient, caller: VoiceCaller, predicate: Any, what: str
) -> dict[str, Any]:
    """The session record once `predicate(record)` holds (the worker writes each entry as it
    happens): re-read whenever the caller observes something, at least every 0.2 s, bounded."""
    deadline = time.monotonic() + WAIT
    record = await session_record(client, caller)
    while not predicate(record) and time.monotonic() < deadline:
        await caller.next_change(0.2)
        record = await session_record(client, caller)
    assert predicate(record), f"the session record never showed {what}: {record['transcript']}"
    return record


def entries(record: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in record["transcript"] if e["type"] == kind]


def llm_user_texts(fake: ScriptedLLM) -> list[str]:
    """Every user message the ScriptedLLM was shown, in order."""
    texts = []
    for body in fake.requests:
        for message in body["messages"]:
            if message.get("role") == "user":
                content = message.get("content")
                if isinstance(content, list):
                    content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
                texts.append(str(content or ""))
    return texts


async def speak_and_hear(caller: VoiceCaller, text: str) -> tuple[Turn, str]:
    """Say `text`, wait for the whole spoken reply, and transcribe it with Whisper."""
    turn = await caller.say(text, within=WAIT)
    heard = await caller.transcribe_reply(turn, within=WAIT)
    return turn, heard


async def test_the_worker_is_registered_and_the_agent_joins_the_caller(
    caller: VoiceCaller, voice_worker: Any, client: httpx.AsyncClient
) -> None:
    assert find_log_records(voice_worker.log_text(), WORKER_READY)
    assert caller.agent_identity is not None, "an agent participant is in the caller's room"
    assert caller.agent_track_at is not None, "the caller is subscribed to the agent's audio"
    assert caller.loud_times, "the caller heard the greeting"
    record = await session_record(client, caller)
    assert record["status"] == "active"
    kinds = {p["identity"]: p["kind"] for p in record["participants"] if p.get("joined_at")}
    assert kinds.get(caller.agent_identity) == "agent"
    assert kinds.get(caller.identity) == "standard"


async def test_speech_is_transcribed_sent_to_the_llm_and_answered_aloud(
    caller: VoiceCaller, client: httpx.AsyncClient, scripted_llm_server: ScriptedLLM
) -> None:
    turn = await caller.say(STATUS_QUESTION, within=WAIT)

    # the reply is spoken: Whisper hears its first seconds in the audio the caller received
    # (the whole status takes half a minute to read; the next test talks over the rest)
    started = turn.reply_started_at or 0.0
    await caller.wait_for(
        lambda: caller.loud_times[-1] - started >= HEARD_SECONDS, WAIT, "the status answer"
    )
    heard = await caller.transcribe_agent(started - 0.05)
    assert {"status", "apollo", "track"} <= set(normalize_words(heard)), heard

    # the transcript the caller was sent (lk.transcription) and the one the worker stored
    sent = [e for e in caller.user_transcripts() if e.at > turn.started_at]
    assert sent and word_accuracy(STATUS_QUESTION, sent[-1].text) >= MIN_WORD_ACCURACY, sent
    record = await wait_record(
        client, caller, lambda r: any(e["type"] == "tool" for e in r["transcript"]), "the tool"
    )
    stored = entries(record, "user")[-1]["text"]
    assert word_accuracy(STATUS_QUESTION, stored) >= MIN_WORD_ACCURACY, stored

    # the LLM was shown that text, and called the tool it asks for
    shown = llm_user_texts(scripted_llm_server)
    assert any(word_accuracy(STATUS_QUESTION, text) >= MIN_WORD_ACCURACY for text in shown), shown
    tools = [e for e in entries(record, "tool") if e["name"] == "get_project_status"]
    assert tools and tools[-1]["arguments"] == {"project_name": "Apollo"}


async def test_the_caller_interrupts_and_the_agent_stops_then_answers(
    caller: VoiceCaller, client: httpx.AsyncClient
) -> None:
    if caller.quiet_for() > 0.5:  # run alone: first ask for a long answer
        turn = await caller.say(LONG_QUESTION, within=WAIT)
        started = turn.reply_started_at or 0.0
        await caller.wait_for(
            lambda: caller.loud_times[-1] - started >= HEARD_SECONDS, WAIT, "the long answer"
        )
    assert caller.quiet_for() < 0.5, "the agent is in the middle of a long answer"

    interruption = await caller.speak(BENCH_QUESTION)
    await caller.wait_for(lambda: interruption.started_at, WAIT, "the interruption")
    stopped_at = await caller.wait_quiet(0.5, STOP_BOUND + 1.0)
    assert stopped_at - interruption.started_at <= STOP_BOUND, (
        f"the agent went on for {stopped_at - interruption.started_at:.2f}s"
    )

    await caller.wait_spoken(interruption, WAIT)
    reply_at = await caller.wait_reply(interruption, WAIT)
    assert reply_at > stopped_at
    heard = await caller.transcribe_reply(interruption, within=WAIT)
    assert {"projects", "track", "february"} <= set(normalize_words(heard)), heard

    record = await wait_record(
        client,
        caller,
        lambda r: any(e.get("interrupted") for e in entries(r, "agent")),
        "the interrupted answer",
    )
    cut = [e for e in entries(record, "agent") if e.get("interrupted")][-1]
    assert cut["text"], "what the agent said before it stopped is recorded"
    # only the words spoken before the interruption (SYNC_TRANSCRIPTION), not the whole reply
    assert len(cut["text"]) < len(LONG_ANSWER) / 2, cut["text"]
    assert entries(record, "agent")[-1]["text"] == BENCH_ANSWER


async def test_a_task_created_by_voice_is_visible_through_the_api(
    caller: VoiceCaller, client: httpx.AsyncClient
) -> None:
    await caller.wait_quiet(0.5, WAIT)
    turn, heard = await speak_and_hear(caller, TASK_REQUEST)

    record = await wait_record(
        client,
        caller,
        lambda r: any(e.get("name") == "create_task" for e in r["transcript"]),
        "the create_task call",
    )
    call = [e for e in entries(record, "tool") if e["name"] == "create_task"][-1]
    arguments = call["arguments"]
    assert arguments["project_name"] == "Apollo"
    assert arguments["assignee"] == "Priya"
    assert arguments["due_date"] == NEXT_MONTH
    assert word_accuracy(TASK_TITLE, arguments["title"]) >= 0.75, arguments["title"]
    assert not call["is_error"], call["output"]

    tasks = (await client.get("/api/projects/apollo/tasks")).json()["tasks"]
    # Each preset's caller creates one: this caller's is the one its user created.
    created = [t for t in tasks if t["created_by"] == caller.user_id]
    assert [t["title"] for t in created] == [arguments["title"]]
    assert created[0]["assignee"] == "Priya"

    said = [e.text for e in caller.agent_transcripts() if e.at > turn.started_at]
    # Whisper may glue a word to the one before ("Attask"): the words are looked for inside.
    assert all(word in heard.lower() for word in ("task", "update", "onboarding")), (heard, said)


async def test_the_session_record_holds_every_turn_with_latency(
    caller: VoiceCaller, client: httpx.AsyncClient
) -> None:
    if not caller.turns:  # run alone: hold one turn first
        await speak_and_hear(caller, STATUS_QUESTION)
    spoken = len(caller.turns)
    record = await wait_record(
        client,
        caller,
        lambda r: len(entries(r, "user")) >= spoken and len(entries(r, "agent")) >= spoken + 1,
        "every turn",
    )
    users, agents = entries(record, "user"), entries(record, "agent")
    for turn, entry in zip(caller.turns, users, strict=False):
        assert word_accuracy(turn.text, entry["text"]) >= MIN_WORD_ACCURACY, entry["text"]
    greeting, answers = agents[0], agents[1:]
    assert greeting["text"].startswith("Hello")
    for answer in answers:
        if answer.get("interrupted"):
            continue
        latency = answer["latency"]
        for stage in LATENCY_STAGES:
            assert latency.get(stage, -1) >= 0, f"{stage} missing in {json.dumps(answer)}"
    for turn in caller.turns:
        assert turn.voice_to_voice is not None and turn.voice_to_voice > 0


async def test_the_worker_logged_no_error_for_this_session(
    caller: VoiceCaller, voice_worker: Any
) -> None:
    pid = voice_worker.job_pid(caller.session_id)
    assert pid is not None, "the job's log line names the session"
    errors = []
    for event in parse_log_records(voice_worker.log_text()):
        ours = event.get("pid") == pid or caller.session_id in json.dumps(event)
        if ours and event.get("level") in ("ERROR", "CRITICAL"):
            errors.append(json.dumps(event))
    assert not errors, "\n".join(errors)
