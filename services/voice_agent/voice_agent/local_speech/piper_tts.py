"""Text-to-speech on this machine with Piper, as a LiveKit Agents TTS plugin.

Piper synthesizes whole texts, so the plugin is non-streaming: AgentSession feeds it one sentence
at a time through a `StreamAdapter`. Within one text, audio is still pushed sentence by sentence
as Piper produces it, so playback starts before a long text is fully synthesized.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions, APIError, tts
from livekit.agents.utils import shortuuid
from piper import PiperConfig, PiperVoice, SynthesisConfig

from .model_cache import ModelCache

_VOICES: ModelCache[str, PiperVoice] = ModelCache(PiperVoice.load)


def load_piper_voice(voice_path: str) -> PiperVoice:
    """The Piper voice at `voice_path` (config at voice_path + ".json"), loaded once per process."""
    return _VOICES.get(voice_path)


class PiperTTS(tts.TTS):
    """A Piper voice running in the worker process (mono, at the voice's own sample rate).

    Args:
        voice_path: the voice's .onnx file; its config is the same path + ".json".
        length_scale: speaking duration (< 1 faster, > 1 slower); None keeps the voice's default.
        noise_scale: generator noise (voice's default when None). 0 with `noise_w=0` makes
            synthesis deterministic: the same text gives the same bytes.
        noise_w: phoneme-duration noise ("noise_w" in the voice config, Piper's
            `noise_w_scale`); the voice's default when None.
        speaker_id: speaker of a multi-speaker voice; None is the voice's default speaker.
    """

    def __init__(
        self,
        *,
        voice_path: str,
        length_scale: float | None = None,
        noise_scale: float | None = None,
        noise_w: float | None = None,
        speaker_id: int | None = None,
    ) -> None:
        config = PiperConfig.from_dict(json.loads(Path(f"{voice_path}.json").read_text("utf-8")))
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=config.sample_rate,
            num_channels=1,
        )
        self._voice_path = voice_path
        self._synthesis = SynthesisConfig(
            speaker_id=speaker_id,
            length_scale=length_scale,
            noise_scale=noise_scale,
            noise_w_scale=noise_w,
        )

    @property
    def model(self) -> str:
        return Path(self._voice_path).stem

    @property
    def provider(self) -> str:
        return "piper"

    def prewarm(self) -> None:
        """Load the voice now (in a thread when called on the event loop)."""
        _VOICES.prewarm(self._voice_path)

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> PiperChunkedStream:
        return PiperChunkedStream(tts=self, input_text=text, conn_options=conn_options)


class PiperChunkedStream(tts.ChunkedStream):
    """One synthesis: each sentence's 16-bit PCM is pushed as soon as Piper has produced it."""

    def __init__(self, *, tts: PiperTTS, input_text: str, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._piper = tts

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=shortuuid(),
            sample_rate=self._piper.sample_rate,
            num_channels=1,
            mime_type="audio/pcm",
        )
        try:
            voice = await asyncio.to_thread(load_piper_voice, self._piper._voice_path)
            sentences = iter(voice.synthesize(self.input_text, self._piper._synthesis))
            # One thread hop per sentence: the loop pushes each one while the next is made, and
            # a cancelled stream stops synthesizing at the next sentence boundary.
            while (chunk := await asyncio.to_thread(next, sentences, None)) is not None:
                output_emitter.push(chunk.audio_int16_bytes)
        except Exception as e:
            raise APIError(f"piper synthesis failed: {e}", retryable=False) from e
