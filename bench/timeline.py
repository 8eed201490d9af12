"""One turn's timeline, read: its intervals and its critical path.

A turn's moments (`TurnResult.timeline`) are seconds after the caller's last voiced frame was
sent: the worker's (`voice_common.transcript.TurnTimeline`, same machine, same wall clock) and
the caller's `caller_heard`. They are not summed: with preemptive generation the LLM and the
TTS start before the end-of-turn decision, so stages overlap.

- `INTERVALS`: named spans between two moments, each measured on its own (overlap allowed);
- `critical_path()`: the chain of moments that the reply actually waited on, from the caller's
  last voiced frame to the first agent frame it heard. Its segments add up to the voice to
  voice exactly; each is named after what it waited for, and the glue between two stages that
  no named stage covers is "unexplained".
"""

from __future__ import annotations

from collections.abc import Mapping

CALLER_END = "caller_speech_end"  # the origin: 0 by definition
HEARD = "caller_heard"

# name -> (from, to): spans measured on their own, in the order they start.
INTERVALS: dict[str, tuple[str, str]] = {
    "audio to the worker, and where its VAD ends the speech": (CALLER_END, "user_speech_ended"),
    "VAD silence wait": ("user_speech_ended", "vad_end_of_speech"),
    "STT final after the speech's end": ("user_speech_ended", "stt_final"),
    "end-of-turn decision after the speech's end": ("user_speech_ended", "end_of_turn"),
    "LLM time to first token": ("llm_request", "llm_first_token"),
    "LLM first token to first sentence at the TTS": ("llm_first_token", "llm_first_sentence"),
    "TTS time to first byte": ("tts_request", "tts_first_byte"),
    "agent audio output (first byte to first frame pushed)": (
        "tts_first_byte",
        "agent_audio_published",
    ),
    "audio to the caller (transport, playout, leading silence)": ("agent_audio_published", HEARD),
}

# Segments of the critical path, named after the moment that ends them.
SEGMENT_NAMES: dict[str, str] = {
    "user_speech_ended": "audio to the worker + VAD placement",
    "stt_final": "STT final",
    "end_of_turn": "end-of-turn decision",
    "llm_request": "unexplained",  # transcript or decision -> request: the framework's glue
    "llm_first_token": "LLM first token",
    "llm_first_sentence": "LLM first sentence",
    "tts_request": "unexplained",  # sentence (or end of turn, when held) -> TTS request
    "tts_first_byte": "TTS first byte",
    "agent_audio_published": "agent audio output",
    HEARD: "audio to the caller",
}
UNEXPLAINED = "unexplained"
PATH_SEGMENTS = tuple(dict.fromkeys(SEGMENT_NAMES.values()))  # in path order, each once


def interval(marks: Mapping[str, float], name: str) -> float | None:
    start, end = INTERVALS[name]
    at = {CALLER_END: 0.0, **marks}
    return at[end] - at[start] if start in at and end in at else None


def critical_path(marks: Mapping[str, float]) -> list[tuple[str, float]]:
    """(segment name, seconds) from the caller's last voiced frame to the first agent frame it
    heard; the seconds add up to `marks["caller_heard"]`. A moment that was not recorded merges
    its segment into the next one."""
    at = {CALLER_END: 0.0, **marks}
    eot = at.get("end_of_turn")
    never = float("-inf")
    waited_for_eot = eot is not None and eot >= at.get("tts_first_byte", never)
    # A preemptive reply's LLM answered before the end of turn, and its speech was held until
    # the decision: the TTS request follows the end of turn, not the first sentence.
    speech_held = eot is not None and at.get("llm_first_token", float("inf")) <= eot <= at.get(
        "tts_request", never
    )
    if waited_for_eot:  # the reply's audio was ready before the user's turn was over
        chain = ["user_speech_ended", "end_of_turn", "agent_audio_published", HEARD]
    elif speech_held:
        chain = ["user_speech_ended", "end_of_turn", "tts_request", "tts_first_byte"]
        chain += ["agent_audio_published", HEARD]
    else:
        preemptive = eot is not None and "llm_request" in at and at["llm_request"] < eot
        trigger = "stt_final" if preemptive else "end_of_turn"
        chain = ["user_speech_ended", trigger, "llm_request", "llm_first_token"]
        chain += ["llm_first_sentence", "tts_request", "tts_first_byte"]
        chain += ["agent_audio_published", HEARD]
    path, previous = [], 0.0
    for mark in chain:
        if mark in at:
            path.append((SEGMENT_NAMES[mark], at[mark] - previous))
            previous = at[mark]
    return path


def segments(marks: Mapping[str, float]) -> dict[str, float]:
    """The critical path's seconds by segment name (the unexplained glue summed), every name of
    PATH_SEGMENTS present (0 when the path did not go through it)."""
    totals = dict.fromkeys(PATH_SEGMENTS, 0.0)
    for name, seconds in critical_path(marks):
        totals[name] += seconds
    return totals
