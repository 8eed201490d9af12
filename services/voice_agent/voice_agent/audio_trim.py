"""`trim_leading_silence`: a reply's audio without the near-silence its TTS puts before the first
word (Piper about 50 ms, cloud voices often more), so the user hears the answer that much
sooner. Only the start of a reply is looked at: once the first sound has passed, frames go
through untouched, with no work per frame."""

from collections.abc import AsyncIterable, AsyncIterator

import numpy as np
from livekit import rtc
from livekit.agents import Agent, ModelSettings

QUIET_AMPLITUDE = 300  # int16 peak below which a sample counts as silence (about -40 dBFS)
PRE_ROLL_SECONDS = 0.01  # kept before the first sound, so that its onset is not clipped
MAX_TRIM_SECONDS = 0.5  # never drop more than this (a reply that starts with a real pause)


async def trim_leading_silence(
    frames: AsyncIterable[rtc.AudioFrame], max_trim: float = MAX_TRIM_SECONDS
) -> AsyncIterator[rtc.AudioFrame]:
    """The frames from the first sound on. The first frame's userdata (LiveKit stamps there when
    the text reached the TTS, for its time-to-first-sentence metric) moves to the first frame
    kept."""
    trimmed, stamp = 0, None  # samples per channel dropped so far; the first frame's userdata
    async for frame in frames:
        if stamp is None:
            stamp = dict(frame.userdata)
        samples = np.frombuffer(frame.data, dtype=np.int16)
        loud = np.flatnonzero(np.abs(samples) >= QUIET_AMPLITUDE)
        per_channel = frame.samples_per_channel
        budget = round(max_trim * frame.sample_rate) - trimmed  # samples per channel
        if not len(loud) and per_channel <= budget:
            trimmed += per_channel
            continue  # a silent frame, dropped
        first = int(loud[0]) // frame.num_channels if len(loud) else per_channel
        keep_from = min(max(0, first - int(PRE_ROLL_SECONDS * frame.sample_rate)), budget)
        if keep_from > 0:
            rest = samples[keep_from * frame.num_channels :]
            frame = rtc.AudioFrame(
                rest.tobytes(), frame.sample_rate, frame.num_channels, per_channel - keep_from
            )
        frame.userdata.update(stamp)
        yield frame
        break
    async for frame in frames:  # the rest, untouched
        yield frame


class TrimmedSpeech(Agent):
    """An agent whose replies start at their first sound (`trim_leading_silence`), unless the
    session's userdata says `trim_leading_silence=False` (setting TTS_TRIM_LEADING_SILENCE)."""

    async def tts_node(
        self, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterable[rtc.AudioFrame]:
        frames = Agent.default.tts_node(self, text, model_settings)
        return trim_leading_silence(frames) if self._trimming() else frames

    def _trimming(self) -> bool:
        try:
            return bool(getattr(self.session.userdata, "trim_leading_silence", True))
        except ValueError:  # a session without userdata
            return True
