"""One factory per kind: the STT, LLM and TTS of a session, from the settings and its language.

Each builds a real plugin (Deepgram, Sarvam, OpenAI) or a real local engine (faster-whisper,
an OpenAI-compatible server, Piper). The plugins are imported here, at module load: LiveKit
registers plugins on import and refuses to do it off the main thread (console mode runs jobs in
a thread), and the worker preloads them once instead of in every job.
"""

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx2
from livekit.agents import NOT_GIVEN, NotGivenOr, llm, stt, tts
from livekit.agents import vad as vad_module
from livekit.plugins import deepgram, openai, sarvam
from livekit.plugins.sarvam import tts as sarvam_tts
from livekit.plugins.sarvam.stt import SpeechStream as SarvamSpeechStream

from .local_speech import PiperTTS, WhisperSTT, bundled_piper_voice, bundled_whisper_model
from .settings import LLMProvider, STTProvider, TTSProvider, WorkerSettings

log = logging.getLogger(__name__)

FALLBACK_WHISPER_MODEL = "base.en"
KEYWORD_BOOST = 2.0  # Deepgram's boost for a vocabulary word on models before nova-3


def base_language(language: str) -> str:
    """'en-US' -> 'en': the ISO 639 code some providers want."""
    return language.split("-", 1)[0].lower()


def indian_language(language: str) -> str:
    """Sarvam names languages 'xx-IN': 'hi' and 'hi-IN' -> 'hi-IN', 'en-US' -> 'en-IN'."""
    return f"{base_language(language)}-IN"


@dataclass(frozen=True)
class SarvamEndpoints:
    """Sarvam's REST and WebSocket addresses under one API root (SARVAM_BASE_URL), on the same
    paths as Sarvam's cloud."""

    stt: str
    stt_streaming: str
    tts: str
    tts_streaming: str

    @classmethod
    def of(cls, settings: WorkerSettings) -> "SarvamEndpoints | None":
        """Those under SARVAM_BASE_URL; None when it is empty (the plugin's own defaults)."""
        if not settings.sarvam_base_url:
            return None
        root = settings.sarvam_base_url.rstrip("/")
        ws_root = re.sub(r"^http", "ws", root)  # http -> ws, https -> wss
        return cls(
            stt=f"{root}/speech-to-text",
            stt_streaming=f"{ws_root}/speech-to-text/ws",
            tts=f"{root}/text-to-speech",
            tts_streaming=f"{ws_root}/text-to-speech/ws",
        )


class SarvamSTT(sarvam.STT):
    """Sarvam's STT plugin, its streams connecting to `streaming_url` when one is given.

    The plugin takes the REST `base_url` as an argument, but each stream builds its WebSocket
    address from the model's default, with no option to change it; this is the one place that
    sets it (on the stream's options, before its connection task first runs). The worker only
    streams: the plugin's one-shot `recognize()` (REST) always uses Sarvam's cloud."""

    def __init__(self, *, streaming_url: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._streaming_url = streaming_url

    def stream(self, **kwargs: Any) -> SarvamSpeechStream:
        speech_stream = super().stream(**kwargs)
        if self._streaming_url:
            speech_stream._opts.streaming_url = self._streaming_url
        return speech_stream


def openai_base_url(settings: WorkerSettings) -> NotGivenOr[str]:
    """OPENAI_BASE_URL for the OpenAI plugins, or NOT_GIVEN for OpenAI's own. Passed explicitly
    (the OpenAI SDK would also read it from the process environment) so that a value in `.env`
    counts too and is validated. An empty one (compose forwards an unset variable as "") is also
    taken out of the environment: the SDK would use "" as the URL."""
    if not settings.openai_base_url and not os.environ.get("OPENAI_BASE_URL", "x").strip():
        del os.environ["OPENAI_BASE_URL"]
    return settings.openai_base_url or NOT_GIVEN


def build_stt(
    settings: WorkerSettings,
    provider: STTProvider,
    language: str,
    vocabulary: Sequence[str] = (),
) -> stt.STT:
    """The STT plugin, told to expect the words of `vocabulary` (project and people names) where
    the provider takes such a hint: Deepgram keyterms (nova-3) or keywords, OpenAI's prompt,
    Whisper's hotwords. Sarvam's prompt is for its translate mode only, so it gets none."""
    if provider is STTProvider.deepgram:
        options: dict[str, Any] = {}  # a proxy's URL and the vocabulary hint, when set
        if settings.deepgram_base_url:
            options["base_url"] = settings.deepgram_base_url
        if vocabulary:
            nova_3 = settings.deepgram_model.startswith("nova-3")
            options |= (
                {"keyterm": list(vocabulary)}
                if nova_3
                else {"keywords": [(word, KEYWORD_BOOST) for word in vocabulary]}
            )
        return deepgram.STT(
            model=settings.deepgram_model,
            language=language,
            api_key=settings.key(provider) or "",
            **options,
        )
    if provider is STTProvider.sarvam:
        endpoints = SarvamEndpoints.of(settings)
        return SarvamSTT(
            model=settings.sarvam_stt_model,
            language=indian_language(language),
            api_key=settings.key(provider),
            base_url=endpoints.stt if endpoints else None,
            streaming_url=endpoints.stt_streaming if endpoints else None,
        )
    if provider is STTProvider.openai:
        return openai.STT(
            model=settings.openai_stt_model,
            language=base_language(language),
            api_key=settings.key(provider) or "",
            prompt=f"Names that may come up: {', '.join(vocabulary)}." if vocabulary else NOT_GIVEN,
            base_url=openai_base_url(settings),
        )
    model = settings.whisper_model or bundled_whisper_model() or FALLBACK_WHISPER_MODEL
    return WhisperSTT(
        model=model,
        language=language,
        compute_type=settings.whisper_compute_type,
        hotwords=" ".join(vocabulary) or None,
    )


def build_llm(settings: WorkerSettings, provider: LLMProvider) -> llm.LLM:
    timeout = httpx2.Timeout(  # the OpenAI plugin's HTTP client is httpx2
        connect=5.0, read=settings.llm_timeout_seconds, write=5.0, pool=5.0
    )
    temperature = NOT_GIVEN if settings.llm_temperature is None else settings.llm_temperature
    if provider is LLMProvider.openai:
        return openai.LLM(
            model=settings.llm_model,
            api_key=settings.key(provider) or "",
            timeout=timeout,
            temperature=temperature,
            base_url=openai_base_url(settings),
        )
    return openai.LLM(
        model=settings.llm_compatible_model,
        base_url=settings.llm_base_url,
        api_key=settings.llm_compatible_api_key.get_secret_value(),
        timeout=timeout,
        temperature=temperature,
    )


def build_tts(settings: WorkerSettings, provider: TTSProvider, language: str) -> tts.TTS:
    if provider is TTSProvider.openai:
        return openai.TTS(
            model=settings.openai_tts_model,
            voice=settings.openai_tts_voice,
            response_format=settings.openai_tts_format,
            api_key=settings.key(provider) or "",
            base_url=openai_base_url(settings),
        )
    if provider is TTSProvider.sarvam:
        endpoints = SarvamEndpoints.of(settings)  # None: the plugin's own (Sarvam's cloud)
        return sarvam.TTS(
            model=settings.sarvam_tts_model,
            speaker=settings.sarvam_tts_speaker,
            target_language_code=indian_language(language),
            api_key=settings.key(provider),
            base_url=endpoints.tts if endpoints else sarvam_tts.SARVAM_TTS_BASE_URL,
            ws_url=endpoints.tts_streaming if endpoints else sarvam_tts.SARVAM_TTS_WS_URL,
        )
    voice = settings.piper_voice or bundled_piper_voice()
    if not voice:
        raise ValueError("TTS provider 'piper' needs PIPER_VOICE (the path of a .onnx voice)")
    if base_language(language) != "en":
        log.warning(
            "piper voice is English; the session's language is spoken with it",
            extra={"language": language},
        )
    return PiperTTS(voice_path=voice, noise_scale=0.667, noise_w=0.8)


def session_stt(
    settings: WorkerSettings,
    language: str,
    vad: vad_module.VAD,
    vocabulary: Sequence[str] = (),
) -> stt.STT:
    """The chosen STT, behind a FallbackAdapter when a fallback STT is configured."""
    primary = build_stt(settings, settings.chosen_providers()[0], language, vocabulary)
    if settings.stt_fallback_provider is None:
        return primary
    fallback = build_stt(settings, settings.stt_fallback_provider, language, vocabulary)
    return stt.FallbackAdapter([primary, fallback], vad=vad)


def session_llm(settings: WorkerSettings) -> llm.LLM:
    """The chosen LLM, behind a FallbackAdapter when a fallback LLM is configured."""
    primary = build_llm(settings, settings.chosen_providers()[1])
    if settings.llm_fallback_provider is None:
        return primary
    fallback = build_llm(settings, settings.llm_fallback_provider)
    return llm.FallbackAdapter([primary, fallback], attempt_timeout=settings.llm_timeout_seconds)


def session_tts(settings: WorkerSettings, language: str) -> tts.TTS:
    """The chosen TTS, behind a FallbackAdapter when a fallback TTS is configured."""
    primary = build_tts(settings, settings.chosen_providers()[2], language)
    if settings.tts_fallback_provider is None:
        return primary
    fallback = build_tts(settings, settings.tts_fallback_provider, language)
    return tts.FallbackAdapter([primary, fallback])
