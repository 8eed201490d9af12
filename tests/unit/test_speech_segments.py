"""The streaming STT fakes' endpointing (`harness.fakes.speech_segments`): events on the
audio's own clock, from its level, for synthetic speech (a tone) and silence."""

import numpy as np
import pytest

from harness.fakes.speech_segments import (
    Interim,
    Segmenter,
    SpeechEnded,
    SpeechStarted,
    UtteranceEnd,
)

RATE = 16000


def tone(seconds: float, amplitude: int = 3000) -> bytes:
    t = np.arange(int(RATE * seconds)) / RATE
    return (amplitude * np.sin(2 * np.pi * 220 * t)).astype(np.int16).tobytes()


def quiet(seconds: float) -> bytes:
    return bytes(int(RATE * seconds) * 2)


def feed_in_chunks(segmenter: Segmenter, pcm: bytes, chunk: int = 1600) -> list[object]:
    """As the plugin sends it: 50 ms binary messages, not aligned with the 10 ms windows."""
    events: list[object] = []
    for offset in range(0, len(pcm), chunk):
        events += segmenter.feed(pcm[offset : offset + chunk])
    return events


def test_speech_between_silences_starts_and_ends_where_the_sound_is() -> None:
    segmenter = Segmenter(RATE, pause=0.3, interim_every=None)
    events = feed_in_chunks(segmenter, quiet(0.5) + tone(1.0) + quiet(0.5))
    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]
    started, ended = events
    assert isinstance(started, SpeechStarted) and started.at == pytest.approx(0.5, abs=0.011)
    assert isinstance(ended, SpeechEnded)
    utterance = ended.utterance
    assert (utterance.start, utterance.end) == (pytest.approx(0.5, abs=0.011), pytest.approx(1.5))
    assert not utterance.finalized
    # its audio: the speech with the pre-roll before it and the pause after it
    assert len(utterance.audio) / 2 / RATE == pytest.approx(0.2 + 1.0 + 0.3, abs=0.02)
    assert segmenter.position == pytest.approx(2.0)


def test_a_gap_shorter_than_the_pause_stays_in_one_utterance() -> None:
    segmenter = Segmenter(RATE, pause=0.3, interim_every=None)
    pcm = tone(0.5) + quiet(0.2) + tone(0.5) + quiet(0.4) + tone(0.3) + quiet(0.4)
    ended = [e for e in feed_in_chunks(segmenter, pcm) if isinstance(e, SpeechEnded)]
    spans = [(e.utterance.start, e.utterance.end) for e in ended]
    assert spans == [(0.0, pytest.approx(1.2)), (pytest.approx(1.6), pytest.approx(1.9))]


def test_a_click_is_not_speech() -> None:
    segmenter = Segmenter(RATE, pause=0.3, start_windows=3)
    assert feed_in_chunks(segmenter, quiet(0.3) + tone(0.02) + quiet(1.0)) == []


def test_interims_come_every_interval_while_speech_goes_on() -> None:
    segmenter = Segmenter(RATE, pause=0.3, interim_every=0.5)
    events = feed_in_chunks(segmenter, tone(1.6) + quiet(0.5))
    interims = [e.at for e in events if isinstance(e, Interim)]
    assert interims == [pytest.approx(0.5), pytest.approx(1.0), pytest.approx(1.5)]
    assert isinstance(events[-1], SpeechEnded)


def test_utterance_end_comes_that_long_after_the_last_sound() -> None:
    segmenter = Segmenter(RATE, pause=0.3, interim_every=None, utterance_end=1.0)
    assert not any(
        isinstance(e, UtteranceEnd) for e in feed_in_chunks(segmenter, tone(1.0) + quiet(0.9))
    )
    events = feed_in_chunks(segmenter, quiet(0.2))
    assert events == [UtteranceEnd(1.0)]
    assert feed_in_chunks(segmenter, quiet(2.0)) == [], "once per utterance"


def test_finalize_ends_the_utterance_at_once_and_only_in_speech() -> None:
    segmenter = Segmenter(RATE, pause=0.3, interim_every=None)
    feed_in_chunks(segmenter, tone(0.6))
    assert segmenter.in_speech
    (ended,) = segmenter.finalize()
    assert isinstance(ended, SpeechEnded) and ended.utterance.finalized
    assert ended.utterance.end == pytest.approx(0.6)
    assert segmenter.finalize() == []
