"""`trim_leading_silence`: a reply starts at its first sound, never more than the bound is cut,
and what follows the first sound passes untouched."""

import numpy as np
from livekit import rtc

from voice_agent.audio_trim import MAX_TRIM_SECONDS, PRE_ROLL_SECONDS, trim_leading_silence

RATE = 24000
FRAME = 480  # 20 ms


def frame(loud_from: int | None) -> rtc.AudioFrame:
    """A 20 ms frame, silent before sample `loud_from` and loud after (None: all silent)."""
    data = np.zeros(FRAME, dtype=np.int16)
    if loud_from is not None:
        data[loud_from:] = 8000
    return rtc.AudioFrame(data.tobytes(), RATE, 1, FRAME)


async def trimmed(frames: list[rtc.AudioFrame], **kwargs: float) -> list[rtc.AudioFrame]:
    async def source():  # noqa: ANN202
        for f in frames:
            yield f

    return [f async for f in trim_leading_silence(source(), **kwargs)]


def samples(frames: list[rtc.AudioFrame]) -> np.ndarray:
    return np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in frames])


async def test_silent_frames_before_the_first_sound_are_dropped_and_its_onset_kept() -> None:
    out = await trimmed([frame(None), frame(None), frame(400), frame(0), frame(None)])
    pre_roll = int(PRE_ROLL_SECONDS * RATE)
    audio = samples(out)
    assert len(audio) == pre_roll + (FRAME - 400) + 2 * FRAME
    assert not audio[:pre_roll].any() and audio[pre_roll] == 8000
    assert not audio[-FRAME:].any()  # a quiet frame after the first sound is kept


async def test_no_more_than_the_bound_is_cut() -> None:
    silent = [frame(None)] * 50  # a second of silence, then sound
    out = await trimmed([*silent, frame(0)], max_trim=MAX_TRIM_SECONDS)
    assert len(samples(out)) == 51 * FRAME - int(MAX_TRIM_SECONDS * RATE)


async def test_a_reply_that_starts_loud_is_unchanged() -> None:
    frames = [frame(0), frame(None), frame(0)]
    out = await trimmed(frames)
    assert [f.data.tobytes() for f in out] == [f.data.tobytes() for f in frames]
