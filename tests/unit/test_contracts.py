"""The typed contracts between session-api and the worker keep the JSON they replaced: the same
keys in the same order, timestamps as `isoformat()`, unmeasured stages left out; and reading
stays as lenient as it was."""

import json
from datetime import UTC, datetime

import pytest

from voice_common.dispatch import DispatchMetadata
from voice_common.session_status import EndReason
from voice_common.transcript import (
    AgentTurn,
    LatencyStages,
    ToolCall,
    TurnTimeline,
    UserTurn,
    parse_entry,
)

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 21, 12, 0, 0, 123456, tzinfo=UTC)


def test_dispatch_metadata_is_the_json_session_api_always_sent() -> None:
    meta = DispatchMetadata(
        session_id="abc", user_id="alice", language="en-US", metadata={"plan": "pro"}
    )
    assert meta.model_dump_json() == json.dumps(
        {"session_id": "abc", "user_id": "alice", "language": "en-US", "metadata": {"plan": "pro"}},
        separators=(",", ":"),
    )
    assert DispatchMetadata.parse(meta.model_dump_json()) == meta


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]", '"a string"', "null", "{}"])
def test_dispatch_metadata_that_is_empty_or_not_an_object_reads_as_nothing(text: str) -> None:
    assert DispatchMetadata.parse(text) == DispatchMetadata()


def test_dispatch_metadata_keeps_the_fields_it_can_read() -> None:
    meta = DispatchMetadata.parse('{"session_id": "abc", "user_id": 42, "other": true}')
    assert (meta.session_id, meta.user_id, meta.language) == ("abc", None, None)


def test_transcript_entries_are_the_json_the_worker_always_wrote() -> None:
    at = AT.isoformat()
    user = UserTurn(text="Hi", latency=LatencyStages(end_of_turn_delay=0.5, stt_delay=0.2), at=AT)
    agent = AgentTurn(
        text="Hello",
        interrupted=False,
        latency=LatencyStages(stt_delay=0.2, voice_to_voice=1.2, llm_ttft=0.3),
        timeline=TurnTimeline(user_speech_ended=1796220000.5, agent_audio_published=1796220001.7),
        at=AT,
    )
    tool = ToolCall(name="list_tasks", arguments={"project_name": "Apollo"}, output="ok",
                    is_error=False, at=AT)  # fmt: skip

    assert user.model_dump_json() == (
        f'{{"type":"user","text":"Hi","latency":{{"end_of_turn_delay":0.5,"stt_delay":0.2}},'
        f'"at":"{at}"}}'
    )
    assert agent.model_dump_json() == (
        '{"type":"agent","text":"Hello","interrupted":false,'
        f'"latency":{{"stt_delay":0.2,"voice_to_voice":1.2,"llm_ttft":0.3}},'
        '"timeline":{"user_speech_ended":1796220000.5,"agent_audio_published":1796220001.7},'
        f'"at":"{at}"}}'
    )
    assert tool.model_dump_json() == (
        '{"type":"tool","name":"list_tasks","arguments":{"project_name":"Apollo"},'
        f'"output":"ok","is_error":false,"at":"{at}"}}'
    )
    greeting = AgentTurn(text="Hi", latency=LatencyStages(), at=AT)
    assert '"latency":{},' in greeting.model_dump_json(), "no stage measured, none written"
    assert '"timeline"' not in greeting.model_dump_json(), "no moment seen, none written"


def test_a_stored_entry_reads_back_as_its_type_and_writes_back_unchanged() -> None:
    line = (
        '{"type":"agent","text":"Done","interrupted":true,'
        '"latency":{"voice_to_voice":0.9,"tts_ttfb":0.1},"timeline":{"end_of_turn":1.5},'
        '"at":"2026-11-21T12:00:00+00:00"}'
    )
    entry = parse_entry(line)
    assert isinstance(entry, AgentTurn) and entry.interrupted
    assert entry.latency.measured() == {"voice_to_voice": 0.9, "tts_ttfb": 0.1}
    assert entry.timeline.marks() == {"end_of_turn": 1.5}
    assert entry.model_dump_json() == line


def test_an_agent_entry_stored_before_timelines_reads_with_an_empty_one() -> None:
    entry = parse_entry(
        '{"type":"agent","text":"Done","interrupted":false,"latency":{},'
        '"at":"2026-11-21T12:00:00+00:00"}'
    )
    assert isinstance(entry, AgentTurn) and entry.timeline.marks() == {}


def test_entries_name_their_agent_and_older_ones_without_one_still_read() -> None:
    tool = ToolCall(name="end_call", arguments={}, output="bye", is_error=False, agent="pm-agent",
                    at=AT)  # fmt: skip
    assert '"is_error":false,"agent":"pm-agent","at"' in tool.model_dump_json()
    assert parse_entry(tool.model_dump_json()) == tool
    older = '{"type":"agent","text":"Hi","interrupted":false,"latency":{},"at":"2026-11-21"}'
    entry = parse_entry(older)
    assert isinstance(entry, AgentTurn) and entry.agent is None


def test_dispatch_metadata_names_the_starting_agent_only_when_known() -> None:
    meta = DispatchMetadata(session_id="abc", agent_id="docs-specialist")
    assert DispatchMetadata.parse(meta.model_dump_json()).agent_id == "docs-specialist"
    assert "agent_id" not in DispatchMetadata(session_id="abc").model_dump_json()


@pytest.mark.parametrize(
    "line",
    ['{"type":"note","text":"?","at":"2026-11-21"}', '{"type":"user","at":"2026-11-21"}', "{}"],
)
def test_an_entry_that_is_not_one_reads_as_none(line: str) -> None:
    assert parse_entry(line) is None


def test_an_agent_error_names_what_failed() -> None:
    assert EndReason.error(ValueError("x")) == "agent_error: ValueError"
    assert EndReason.user_left == "user_left"
