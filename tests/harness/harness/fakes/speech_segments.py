"""Endpointing for the streaming STT fakes: where speech starts and ends in the audio they
receive, decided from its level, as a cloud recognizer decides from its own model.

`Segmenter` is fed 16-bit mono PCM as it arrives and answers with events on the audio's own
clock (seconds since the stream's first sample), so the same bytes always give the same events:

- `SpeechStarted(at)`: `start_windows` consecutive 10 ms windows above `threshold`;
- `Interim(utterance)`: every `interim_every` seconds of audio while speech goes on;
- `SpeechEnded(utterance)`: `pause` seconds of audio below the threshold after speech, or a
  `finalize()` asked for by the client (then `utterance.finalized`);
- `UtteranceEnd(last_word_end)`: `utterance_end` seconds after the last loud window, when set.

An `Utterance` carries its audio (with `pre_roll` seconds before the start, as a recognizer
needs the onset) so the fake can transcribe exactly what it heard. The pause is longer than
the tens of milliseconds a cloud endpointer waits, because the fake transcribes whole utterances
with Whisper, which cannot cut between words the way a streaming model does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

WINDOW_SECONDS = 0.01
THRESHOLD_RMS = 200.0  # int16 RMS of a 10 ms window that counts as sound (harness.audio's level)


@dataclass
class Utterance:
    """One stretch of speech: its audio (pre-roll included) and where it lies in the stream."""

    index: int
    start: float  # first loud window (seconds of stream audio)
    end: float = 0.0  # end of its last loud window
    audio: bytearray = field(default_factory=bytearray)
    audio_start: float = 0.0  # where `audio` begins (start minus the pre-roll)
    finalized: bool = False  # ended by the client's Finalize, not by a pause

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class SpeechStarted:
    at: float


@dataclass(frozen=True)
class Interim:
    utterance: Utterance
    at: float  # audio heard so far ends here


@dataclass(frozen=True)
class SpeechEnded:
    utterance: Utterance


@dataclass(frozen=True)
class UtteranceEnd:
    last_word_end: float


Event = SpeechStarted | Interim | SpeechEnded | UtteranceEnd


def window_rms(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32)
    return float(np.sqrt(np.mean(samples * samples))) if samples.size else 0.0


class Segmenter:
    """Energy endpointing over a stream of 16-bit mono PCM at `sample_rate`."""

    def __init__(
        self,
        sample_rate: int,
        *,
        pause: float = 0.35,
        interim_every: float | None = 1.0,
        utterance_end: float | None = None,
        threshold: float = THRESHOLD_RMS,
        start_windows: int = 3,
        pre_roll: float = 0.2,
    ) -> None:
        self.sample_rate = sample_rate
        self.pause = pause
        self.interim_every = interim_every
        self.utterance_end = utterance_end
        self.threshold = threshold
        self.start_windows = start_windows
        self.pre_roll = pre_roll
        self.window_bytes = int(sample_rate * WINDOW_SECONDS) * 2
        self.utterances: list[Utterance] = []
        self.position = 0.0  # seconds of audio consumed
        self._windows = 0  # windows consumed (the position, counted without rounding drift)
        self._pending = bytearray()  # less than a window
        self._recent: list[bytes] = []  # windows kept for the pre-roll and the onset
        self._loud_run = 0
        self._current: Utterance | None = None
        self._last_loud_end: float | None = None  # of the last utterance, for UtteranceEnd
        self._next_interim = 0.0

    @property
    def in_speech(self) -> bool:
        return self._current is not None

    def feed(self, pcm: bytes) -> list[Event]:
        """Consume `pcm` (any length); the events it completes, in audio order."""
        self._pending += pcm
        events: list[Event] = []
        while len(self._pending) >= self.window_bytes:
            window = bytes(self._pending[: self.window_bytes])
            del self._pending[: self.window_bytes]
            events += self._window(window)
        return events

    def finalize(self) -> list[Event]:
        """The client asked for what it has said so far: end the current utterance now."""
        if self._current is None:
            return []
        return [self._end(finalized=True)]

    def _window(self, window: bytes) -> list[Event]:
        start = self.position
        self._windows += 1
        self.position = round(self._windows * WINDOW_SECONDS, 6)
        loud = window_rms(window) >= self.threshold
        self._loud_run = self._loud_run + 1 if loud else 0
        current = self._current
        if current is None:
            return self._idle(window, start, loud)
        current.audio += window
        if loud:
            current.end = self.position
        events: list[Event] = []
        if self.interim_every is not None and self.position >= self._next_interim:
            self._next_interim = self.position + self.interim_every
            events.append(Interim(current, self.position))
        if self.position - current.end >= self.pause:
            events.append(self._end(finalized=False))
        return events

    def _idle(self, window: bytes, start: float, loud: bool) -> list[Event]:
        pre_roll_windows = round(self.pre_roll / WINDOW_SECONDS) + self.start_windows
        self._recent = [*self._recent[-(pre_roll_windows - 1) :], window]
        events: list[Event] = []
        last = self._last_loud_end
        if (
            self.utterance_end is not None
            and last is not None
            and self.position - last >= self.utterance_end
        ):
            self._last_loud_end = None
            events.append(UtteranceEnd(last))
        if loud and self._loud_run >= self.start_windows:
            onset = start - (self.start_windows - 1) * WINDOW_SECONDS
            utterance = Utterance(index=len(self.utterances), start=round(onset, 3))
            utterance.audio = bytearray(b"".join(self._recent))
            utterance.audio_start = round(self.position - len(self._recent) * WINDOW_SECONDS, 3)
            utterance.end = self.position
            self._recent = []
            self._current = utterance
            self._last_loud_end = None
            self.utterances.append(utterance)
            if self.interim_every is not None:
                self._next_interim = utterance.start + self.interim_every
            events.append(SpeechStarted(utterance.start))
        return events

    def _end(self, *, finalized: bool) -> SpeechEnded:
        utterance = self._current
        assert utterance is not None
        utterance.end = round(utterance.end, 3)
        utterance.finalized = finalized
        self._current = None
        self._loud_run = 0
        self._last_loud_end = utterance.end
        return SpeechEnded(utterance)
