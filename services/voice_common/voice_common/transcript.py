"""A session's transcript entries: what the worker appends to `session:{id}:transcript`, what
memory reads back from earlier sessions, and what `GET /api/voice/session/{id}` serves (the
web client's types are generated from that schema).

Each Redis list item is one entry as JSON (`model_dump_json()`), with `type` telling a user
turn, an agent turn and a tool call apart. The latency stage names are the fields of
`LatencyStages`, named nowhere else.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)

# A stage LiveKit did not measure for a turn is left out of the JSON (never null): the greeting
# has no user side, a user turn no LLM or TTS. Its schema is therefore an optional number.
Stage = Annotated[
    float | None,
    Field(exclude_if=lambda value: value is None),
    WithJsonSchema({"type": "number"}),
]
# Written as `datetime.isoformat()` ("+00:00"), as it always was, rather than pydantic's "Z".
Timestamp = Annotated[
    datetime,
    PlainSerializer(datetime.isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class LatencyStages(BaseModel):
    """One turn's latency in seconds, from LiveKit's per-message metrics; a stage that was not
    measured is absent. Fields in the order the worker writes them."""

    end_of_turn_delay: Stage = Field(
        None, description="From the end of the user's speech to the end-of-turn decision"
    )
    stt_delay: Stage = Field(
        None, description="From the end of the user's speech to the final transcript"
    )
    voice_to_voice: Stage = Field(
        None, description="From the end of the user's speech to the agent's first audio"
    )
    llm_ttft: Stage = Field(None, description="The LLM's time to its first token")
    tts_ttfb: Stage = Field(None, description="The TTS's time to its first audio byte")

    def measured(self) -> dict[str, float]:
        """The stages that were measured, by name."""
        return {name: value for name, value in self if value is not None}


LATENCY_STAGES: tuple[str, ...] = tuple(LatencyStages.model_fields)

# A moment of a turn, as the worker saw it: seconds since the epoch (wall clock, so that a
# process on the same machine can put its own moments on the same line); absent if not seen.
Mark = Stage


class TurnTimeline(BaseModel):
    """The moments of one turn on the worker's clock, in the order they usually happen. With
    preemptive generation the LLM and TTS start before the end-of-turn decision: the marks are
    moments, not stage lengths, so that overlap shows. Fields in that order."""

    user_speech_started: Mark = Field(None, description="The VAD heard the user start speaking")
    user_speech_ended: Mark = Field(
        None, description="Where the VAD places the end of the user's speech"
    )
    vad_end_of_speech: Mark = Field(
        None, description="The VAD decided the user stopped (after its silence wait)"
    )
    stt_first_interim: Mark = Field(None, description="The turn's first interim transcript")
    stt_final: Mark = Field(None, description="The turn's last final transcript")
    end_of_turn: Mark = Field(None, description="The end-of-turn decision: the user is done")
    llm_request: Mark = Field(None, description="The reply's LLM request was sent")
    llm_first_token: Mark = Field(None, description="Its first token arrived")
    llm_first_sentence: Mark = Field(None, description="Its first sentence reached the TTS")
    tts_request: Mark = Field(None, description="The reply's first TTS request was sent")
    tts_first_byte: Mark = Field(None, description="Its first audio arrived")
    agent_audio_published: Mark = Field(
        None, description="The reply's first audio frame was pushed to the room"
    )

    def marks(self) -> dict[str, float]:
        """The moments that were seen, by name."""
        return {name: value for name, value in self if value is not None}


TIMELINE_MARKS: tuple[str, ...] = tuple(TurnTimeline.model_fields)


# The agent in charge of a turn; absent (never null) in entries written before agents were
# recorded, and in those of agents outside the agents file, so older entries write back as
# they were read.
AgentId = Annotated[
    str | None,
    Field(
        exclude_if=lambda value: value is None,
        description="Id of the agent in charge (the agents file's id)",
    ),
    WithJsonSchema({"type": "string"}),
]


class _Entry(BaseModel):
    # The JSON always has every field (defaults only make reading older entries lenient), so
    # the served schema marks them all required.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class UserTurn(_Entry):
    """What the user said (the final transcript of their turn)."""

    type: Literal["user"] = "user"
    text: str
    latency: LatencyStages = Field(
        default_factory=LatencyStages, description="end_of_turn_delay and stt_delay"
    )
    at: Timestamp


class AgentTurn(_Entry):
    """What the agent said; `latency` holds the whole turn's breakdown, the user side's delays
    included (none for the greeting)."""

    type: Literal["agent"] = "agent"
    text: str
    interrupted: bool = Field(False, description="The user spoke over it and it was cut short")
    latency: LatencyStages = Field(default_factory=LatencyStages)
    # Absent when no moment was seen (entries written before timelines), so that older entries
    # write back as they were read.
    timeline: TurnTimeline = Field(
        default_factory=TurnTimeline,
        exclude_if=lambda timeline: not timeline.marks(),
        description="The turn's moments; absent in entries written before timelines",
    )
    agent: AgentId = None
    at: Timestamp


class ToolCall(_Entry):
    """A tool the agent called, with its arguments and (the start of) its output."""

    type: Literal["tool"] = "tool"
    name: str
    arguments: dict[str, Any] = Field(
        description='As the LLM passed them; {"raw": text} when they were not a JSON object'
    )
    output: str = Field(description="What the tool returned, or its error message (cut)")
    is_error: bool
    agent: AgentId = None
    at: Timestamp


TranscriptEntry = Annotated[UserTurn | AgentTurn | ToolCall, Field(discriminator="type")]

_ENTRY: TypeAdapter[UserTurn | AgentTurn | ToolCall] = TypeAdapter(TranscriptEntry)


def parse_entry(line: str | bytes) -> UserTurn | AgentTurn | ToolCall | None:
    """One stored entry, or None when it is not one (unknown type, missing fields)."""
    try:
        return _ENTRY.validate_json(line)
    except ValidationError:
        return None
