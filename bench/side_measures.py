"""Side measurements of the latency benchmark: what lies outside the worker's clock.

The caller's voice to voice runs from its last loud frame to the first agent frame it hears; the
worker's own runs from where its VAD places the end of speech to its first audio frame out. The
difference is split here: the audio transport through livekit-server (both ways), how much later
than the last loud frame the VAD places the end of speech, and the near-silence that opens the
reply's audio.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import numpy as np
from stack import (
    BENCH_QUESTION,
    FRAME_MS,
    SAMPLE_RATE,
    SILENCE_RMS,
    BenchStack,
    SpeechSynthesizer,
    rms,
)

BURST_PERIOD_FRAMES = 60  # a tone burst every 600 ms
BURST_FRAMES = 20  # of 200 ms
QUIET_BEFORE_ONSET_MS = 100


async def transport_one_way(stack: BenchStack, bursts: int = 30) -> list[float]:
    """One-way audio latency through livekit-server between two rtc participants of this
    process (the SDK the worker uses, the caller's frame size and queue): a 200 ms tone every
    600 ms, from its first captured frame to the first loud frame received after a quiet spell."""
    from livekit import api, rtc

    room_name = f"transport-{secrets.token_hex(4)}"
    key, secret = stack.api_key, stack.api_secret

    def token(identity: str) -> str:
        grants = api.VideoGrants(room_join=True, room=room_name)
        return api.AccessToken(key, secret).with_identity(identity).with_grants(grants).to_jwt()

    sender, receiver = rtc.Room(), rtc.Room()
    heard: list[float] = []
    listening: list[asyncio.Task[None]] = []

    async def listen(track: rtc.Track) -> None:
        """Onsets: a loud frame after enough quiet ones."""
        stream = rtc.AudioStream(
            track, sample_rate=SAMPLE_RATE, num_channels=1, frame_size_ms=FRAME_MS
        )
        quiet = 0
        async for event in stream:
            if rms(event.frame.data) < SILENCE_RMS:
                quiet += 1
                continue
            if quiet * FRAME_MS >= QUIET_BEFORE_ONSET_MS:
                heard.append(time.monotonic())
            quiet = 0

    def on_track(track: rtc.Track, *_: Any) -> None:
        listening.append(asyncio.ensure_future(listen(track)))

    receiver.on("track_subscribed", on_track)
    async with api.LiveKitAPI(stack.livekit_http_url, key, secret) as lkapi:  # no auto-create
        await lkapi.room.create_room(api.CreateRoomRequest(name=room_name, empty_timeout=60))
    await receiver.connect(stack.livekit_url, token("probe-receiver"))
    await sender.connect(stack.livekit_url, token("probe-sender"))
    source = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=max(FRAME_MS * 2, 20))
    track = rtc.LocalAudioTrack.create_audio_track("probe", source)
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    await sender.local_participant.publish_track(track, options)
    samples = SAMPLE_RATE * FRAME_MS // 1000
    silence = bytes(samples * 2)
    tone = (np.sin(np.arange(samples) / SAMPLE_RATE * 2 * np.pi * 440) * 8000).astype(np.int16)
    loop = asyncio.get_running_loop()
    anchor, sent, starts = loop.time(), 0, []
    period, onset = BURST_PERIOD_FRAMES, BURST_PERIOD_FRAMES // 2
    for index in range((bursts + 2) * period):
        phase = index % period
        loud = onset <= phase < onset + BURST_FRAMES and index >= 2 * period
        data = tone.tobytes() if loud else silence
        await source.capture_frame(rtc.AudioFrame(data, SAMPLE_RATE, 1, samples))
        if loud and phase == onset:
            starts.append(time.monotonic())
        sent += 1
        await asyncio.sleep(max(0.0, anchor + sent * FRAME_MS / 1000 - loop.time()))
    for task in listening:
        task.cancel()
    await sender.disconnect()
    await receiver.disconnect()
    delays = []
    for start in starts:  # each burst's onset with the first onset heard after it
        after = [t for t in heard if t > start]
        if after and after[0] - start < 0.5:
            delays.append(after[0] - start)
    return delays


async def vad_end_offset(text: str = BENCH_QUESTION) -> float:
    """How much later than the caller's last loud frame the worker's VAD (Silero, the worker's
    settings) places the end of `text`'s speech: the worker's voice-to-voice starts there."""
    from livekit import rtc
    from livekit.agents import vad as agents_vad
    from livekit.plugins import silero

    pcm = SpeechSynthesizer.pcm(text)
    size = SAMPLE_RATE * FRAME_MS // 1000 * 2
    pcm += bytes(-len(pcm) % size)
    frames = [pcm[i : i + size] for i in range(0, len(pcm), size)]
    loud = [i for i, f in enumerate(frames) if rms(f) >= SILENCE_RMS]
    last_loud_end = (max(loud) + 1) * FRAME_MS / 1000
    stream = silero.VAD.load().stream()
    for frame in [*frames, *[bytes(size)] * (1500 // FRAME_MS)]:  # then 1.5 s of silence
        stream.push_frame(rtc.AudioFrame(frame, SAMPLE_RATE, 1, len(frame) // 2))
    stream.end_input()
    async for event in stream:
        if event.type == agents_vad.VADEventType.END_OF_SPEECH:
            await stream.aclose()
            return float(event.timestamp - event.silence_duration - last_loud_end)
    return float("nan")


def leading_silence(text: str) -> float:
    """Seconds of near-silence before the first loud frame of `text` spoken by Piper (the
    start of every reply's audio, whatever carries it)."""
    pcm = SpeechSynthesizer.pcm(text)
    size = SAMPLE_RATE * FRAME_MS // 1000 * 2
    for index in range(0, len(pcm), size):
        if rms(pcm[index : index + size]) >= SILENCE_RMS:
            return index / size * FRAME_MS / 1000
    return 0.0
