"""`TurnTimelines`: the moments of each turn (`voice_common.transcript.TurnTimeline`), gathered
from the session's events as they happen, on the wall clock.

- the user side comes from the user message's metrics (where the VAD placed the start and end
  of speech, the end-of-turn delay) and from the events in between: the VAD's decision that the
  user stopped (`user_state_changed`) and the transcripts (`user_input_transcribed`);
- the agent side comes from the LLM's and TTS's own metrics (`metrics_collected`), which carry
  the id of the speech they served: the reply's is the session's current speech when its
  message is added (at the end of its playout), so a preemptive generation that was thrown
  away is not mistaken for it;
- the first audio frame pushed to the room is the agent message's `started_speaking_at`.

Nothing here runs per audio frame: a handful of events per turn.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from livekit.agents import AgentSession, metrics
from livekit.agents.llm import ChatMessage, MetricsReport
from livekit.agents.voice.events import (
    MetricsCollectedEvent,
    UserInputTranscribedEvent,
    UserStateChangedEvent,
)

from voice_common.transcript import TurnTimeline

RECENT_SPEECHES = 16  # speeches whose calls are kept until their reply (a few per turn at most)


@dataclass
class _Calls:
    """A speech's first LLM and TTS calls: when each was sent and first answered."""

    llm_request: float | None = None
    llm_first_token: float | None = None
    tts_request: float | None = None
    tts_first_byte: float | None = None


class TurnTimelines:
    def __init__(self) -> None:
        self._session: AgentSession | None = None
        self._calls: dict[str, _Calls] = {}
        self._vad_end: float | None = None
        self._first_interim: float | None = None
        self._final: float | None = None
        self._user: MetricsReport = {}

    def attach(self, session: AgentSession) -> None:
        self._session = session
        session.on("user_state_changed", self._on_user_state)
        session.on("user_input_transcribed", self._on_transcript)
        # Deprecated for usage and per-turn stage lengths, which ChatMessage.metrics now carry;
        # they carry no request moments, so this still listens (without the deprecation
        # warning AgentSession.on logs for every session).
        super(AgentSession, session).on("metrics_collected", self._on_metrics)

    def user_turn(self, message: ChatMessage) -> None:
        """The user's turn was committed: its metrics frame the next reply's timeline."""
        self._user = dict(message.metrics)  # type: ignore[assignment]

    def reply(self, message: ChatMessage) -> TurnTimeline:
        """The timeline of the turn this agent message answered (its user side is empty for a
        message that answered no one, such as the greeting)."""
        user, self._user = self._user, {}
        calls = self._calls_of(message)
        stopped = user.get("stopped_speaking_at")
        # The first sentence is timed from the generation's start, as is llm_node_ttft: anchored
        # on the first token, both measured by the same clock.
        first_sentence = _plus(
            calls.llm_first_token,
            _minus(message.metrics.get("llm_node_ttfs"), message.metrics.get("llm_node_ttft")),
        )
        timeline = TurnTimeline(
            user_speech_started=user.get("started_speaking_at"),
            user_speech_ended=stopped,
            vad_end_of_speech=self._vad_end if user else None,
            stt_first_interim=self._first_interim if user else None,
            stt_final=self._final if user else None,
            end_of_turn=_plus(stopped, user.get("end_of_turn_delay")),
            llm_request=calls.llm_request,
            llm_first_token=calls.llm_first_token,
            llm_first_sentence=first_sentence,
            tts_request=calls.tts_request,
            tts_first_byte=calls.tts_first_byte,
            agent_audio_published=message.metrics.get("started_speaking_at"),
        )
        self._vad_end = self._first_interim = self._final = None
        return timeline

    def _calls_of(self, message: ChatMessage) -> _Calls:
        speech = self._session.current_speech if self._session else None
        return self._calls.pop(speech.id, _Calls()) if speech else _Calls()

    def _calls_for(self, speech_id: str) -> _Calls:
        if speech_id not in self._calls and len(self._calls) >= RECENT_SPEECHES:
            del self._calls[next(iter(self._calls))]  # the oldest: a speech never played
        return self._calls.setdefault(speech_id, _Calls())

    def _on_user_state(self, event: UserStateChangedEvent) -> None:
        if event.new_state == "speaking":  # a new turn (or its continuation after a pause)
            self._vad_end = None
        elif event.old_state == "speaking":  # now: the event's created_at is backdated
            self._vad_end = time.time()

    def _on_transcript(self, event: UserInputTranscribedEvent) -> None:
        if event.is_final:
            self._final = event.created_at
        elif self._first_interim is None:
            self._first_interim = event.created_at

    def _on_metrics(self, event: MetricsCollectedEvent) -> None:
        m = event.metrics
        if isinstance(m, metrics.LLMMetrics) and m.speech_id:
            calls = self._calls_for(m.speech_id)
            if calls.llm_request is None:  # the first call; a tool's follow-up comes later
                calls.llm_request = m.timestamp - m.duration
                calls.llm_first_token = calls.llm_request + m.ttft
        elif isinstance(m, metrics.TTSMetrics) and m.speech_id:
            calls = self._calls_for(m.speech_id)
            sent = m.timestamp - m.duration
            if m.ttfb >= 0 and (calls.tts_request is None or sent < calls.tts_request):
                calls.tts_request, calls.tts_first_byte = sent, sent + m.ttfb


def _plus(moment: float | None, seconds: float | None) -> float | None:
    return None if moment is None or seconds is None else moment + seconds


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b
