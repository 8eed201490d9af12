"""Audio for the scripted callers: the frame format, a level meter, sentences spoken by the
bundled Piper voice, and the bundled Whisper model to hear the agent with."""

from __future__ import annotations

import tempfile
import wave
from pathlib import Path
from typing import Any

import numpy as np
from livekit import rtc

SAMPLE_RATE = 48000
FRAME_MS = 10
# int16 RMS above which a 10 ms frame counts as sound (about -44 dBFS); speech is 1000-5000,
# decoded silence is 0-50.
SILENCE_RMS = 200.0


class TranscriberMissing(RuntimeError):
    """The bundled Whisper model is not installed."""


def rms(pcm: bytes | memoryview) -> float:
    """Root mean square of 16-bit mono samples."""
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32)
    return float(np.sqrt(np.mean(samples * samples))) if samples.size else 0.0


class SpeechSynthesizer:
    """Sentences spoken by the bundled Piper voice (noise scales 0: same text, same audio) as
    48 kHz 16-bit mono PCM; each text is synthesized once per process."""

    _cache: dict[tuple[str, int], bytes] = {}

    @classmethod
    def pcm(cls, text: str, sample_rate: int = SAMPLE_RATE) -> bytes:
        key = (text, sample_rate)
        if key not in cls._cache:
            from harness.speech_samples import synthesize_wav

            with tempfile.TemporaryDirectory() as tmp:
                path = synthesize_wav(text, Path(tmp) / "say.wav", sample_rate, silence_after=0)
                with wave.open(str(path), "rb") as wav:
                    cls._cache[key] = wav.readframes(wav.getnframes())
        return cls._cache[key]

    @classmethod
    def save(cls, text: str, path: Path, sample_rate: int = SAMPLE_RATE) -> None:
        """Write `text` spoken, as raw PCM, for `load` in another process (pre-encoded audio:
        callers that do not load Piper)."""
        path.write_bytes(cls.pcm(text, sample_rate))

    @classmethod
    def load(cls, text: str, path: Path, sample_rate: int = SAMPLE_RATE) -> None:
        """Take `text`'s audio from a file `save` wrote instead of synthesizing it."""
        cls._cache[(text, sample_rate)] = path.read_bytes()


class AgentTranscriber:
    """The local Whisper model (the bundled tiny.en, as the worker uses), loaded once, told to
    expect the same names as the worker's (the projects' vocabulary), as a user knows them."""

    _stts: dict[str, Any] = {}

    @classmethod
    def get(cls, hotwords: str) -> Any:
        if hotwords not in cls._stts:
            from voice_agent.local_speech import WhisperSTT, bundled_whisper_model

            model = bundled_whisper_model()
            if model is None:
                raise TranscriberMissing("the bundled Whisper model is missing: uv sync")
            cls._stts[hotwords] = WhisperSTT(
                model=model, language="en-US", hotwords=hotwords or None
            )
        return cls._stts[hotwords]

    @classmethod
    async def transcribe(
        cls, pcm: bytes, sample_rate: int = SAMPLE_RATE, *, vocabulary: list[str] | None = None
    ) -> str:
        if not pcm:
            return ""
        frame = rtc.AudioFrame(pcm, sample_rate, 1, len(pcm) // 2)
        event = await cls.get(" ".join(vocabulary or ())).recognize([frame])
        return str(event.alternatives[0].text) if event.alternatives else ""
