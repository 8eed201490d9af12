"""Speech engines that run inside the worker, offline: Whisper STT and Piper TTS plugins."""

from .bundled_models import bundled_piper_voice, bundled_whisper_model
from .piper_tts import PiperTTS
from .whisper_stt import WhisperSTT

__all__ = ["PiperTTS", "WhisperSTT", "bundled_piper_voice", "bundled_whisper_model"]
