"""Speech-to-text on this machine with faster-whisper, as a LiveKit Agents STT plugin.

Whisper transcribes whole utterances, so the plugin is non-streaming: AgentSession wraps it with
its VAD in a `StreamAdapter`, which hands over one buffer per detected utterance.
"""

from __future__ import annotations

import asyncio
import math
import os
from dataclasses import dataclass

import numpy as np
from faster_whisper import WhisperModel
from livekit import rtc
from livekit.agents import (
    NOT_GIVEN,
    APIConnectOptions,
    APIError,
    LanguageCode,
    NotGivenOr,
    stt,
)
from livekit.agents.utils import AudioBuffer, is_given, merge_frames, shortuuid

from .model_cache import ModelCache

WHISPER_SAMPLE_RATE = 16000


def whisper_language(language: str) -> str:
    """Whisper's code for a BCP-47 tag or a language name: "en-US" -> "en", "hi-IN" -> "hi"."""
    return LanguageCode(language).language


def to_whisper_audio(buffer: AudioBuffer) -> np.ndarray:
    """Frames of any sample rate and channel count (int16) as 16 kHz mono float32 in [-1, 1]."""
    frame = merge_frames(buffer)
    samples = np.frombuffer(frame.data, dtype=np.int16)
    if frame.num_channels > 1:
        samples = samples.reshape(-1, frame.num_channels).mean(axis=1).astype(np.int16)
    if frame.sample_rate != WHISPER_SAMPLE_RATE:
        resampler = rtc.AudioResampler(
            frame.sample_rate,
            WHISPER_SAMPLE_RATE,
            num_channels=1,
            quality=rtc.AudioResamplerQuality.HIGH,
        )
        resampled = resampler.push(bytearray(samples.tobytes())) + resampler.flush()
        samples = np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in resampled])
    return samples.astype(np.float32) / 32768.0


@dataclass(frozen=True)
class _ModelOptions:
    """Everything that decides how a Whisper model is loaded: equal options share one model."""

    model: str
    device: str
    compute_type: str
    cpu_threads: int


def _load_model(options: _ModelOptions) -> WhisperModel:
    return WhisperModel(
        options.model,
        device=options.device,
        compute_type=options.compute_type,
        cpu_threads=options.cpu_threads,
    )


_MODELS: ModelCache[_ModelOptions, WhisperModel] = ModelCache(_load_model)


class WhisperSTT(stt.STT):
    """Whisper (faster-whisper / CTranslate2) running in the worker process.

    Args:
        model: a faster-whisper model name ("tiny.en", "base.en", "small"...), resolved from the
            Hugging Face cache, or the path of a converted model directory.
        language: BCP-47 tag or Whisper code of the speech ("en-US", "hi-IN", "en").
        device: "cpu", "cuda" or "auto".
        compute_type: CTranslate2 quantization ("int8" is fastest on CPU).
        beam_size: 1 (greedy) keeps latency lowest; larger beams are slightly more accurate.
        cpu_threads: threads for one transcription; defaults to every CPU.
        hotwords: words the speech may contain (names, jargon), space-separated: Whisper is
            told to expect them, which keeps "Apollo" from being heard as "a polo".
    """

    def __init__(
        self,
        *,
        model: str,
        language: str = "en",
        device: str = "cpu",
        compute_type: str = "int8",
        beam_size: int = 1,
        cpu_threads: int | None = None,
        hotwords: str | None = None,
    ) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self._options = _ModelOptions(
            model=model,
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads or os.cpu_count() or 1,
        )
        self._language = whisper_language(language)
        self._beam_size = beam_size
        self._hotwords = hotwords

    @property
    def model(self) -> str:
        return self._options.model

    @property
    def provider(self) -> str:
        return "faster-whisper"

    def prewarm(self) -> None:
        """Load the model now (in a thread when called on the event loop)."""
        _MODELS.prewarm(self._options)

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        lang = whisper_language(language) if is_given(language) else self._language
        try:
            audio = to_whisper_audio(buffer)
            text, detected, confidence = await asyncio.to_thread(self._transcribe, audio, lang)
        except Exception as e:
            raise APIError(f"whisper transcription failed: {e}", retryable=False) from e
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            request_id=shortuuid(),
            alternatives=[
                stt.SpeechData(
                    language=LanguageCode(detected),
                    text=text,
                    end_time=len(audio) / WHISPER_SAMPLE_RATE,
                    confidence=confidence,
                )
            ],
        )

    def _transcribe(self, audio: np.ndarray, language: str) -> tuple[str, str, float]:
        """(text, language Whisper used, confidence) for one utterance; blocking."""
        segments, info = _MODELS.get(self._options).transcribe(
            audio,
            language=language,
            beam_size=self._beam_size,
            vad_filter=False,  # the session's VAD has already cut the utterance
            condition_on_previous_text=False,
            without_timestamps=True,
            hotwords=self._hotwords,
        )
        segments = list(segments)  # the generator does the decoding
        text = " ".join(s.text.strip() for s in segments).strip()
        logprob = sum(s.avg_logprob for s in segments) / len(segments) if segments else -math.inf
        return text, info.language, math.exp(logprob)
