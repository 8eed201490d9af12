"""The prepared greeting: a fixed sentence per language and kind of user, its audio recorded as
the real TTS (Piper here) first speaks it, and read back whole by every later session."""

from collections.abc import AsyncIterator
from pathlib import Path

from livekit import rtc

from voice_agent.greeting import GREETINGS, Greeting, GreetingAudio, greeting_text
from voice_agent.providers import build_tts
from voice_agent.settings import TTSProvider, WorkerSettings

VOICE = "piper/en-US"
TEXT = GREETINGS["en"]["first"]


def test_english_speakers_get_a_fixed_greeting_by_kind_and_others_the_llms() -> None:
    assert greeting_text("en-US", returning=False) == GREETINGS["en"]["first"]
    assert greeting_text("en-IN", returning=True) == GREETINGS["en"]["returning"]
    assert greeting_text("hi-IN", returning=False) is None


def test_the_voice_identity_names_provider_voice_and_language() -> None:
    openai = WorkerSettings(provider_preset="openai", openai_api_key="k", deepgram_api_key="k")
    assert openai.voice_identity("en-US") == "openai/gpt-4o-mini-tts/alloy/en-US"
    assert openai.voice_identity("en-US") != openai.voice_identity("en-GB")


def suffixes(folder: Path) -> list[str]:
    return [p.suffix for p in folder.iterdir()]


async def spoken(text: str) -> AsyncIterator[rtc.AudioFrame]:
    engine = build_tts(WorkerSettings(provider_preset="local"), TTSProvider.piper, "en-US")
    async for event in engine.synthesize(text):
        yield event.frame


async def test_the_greeting_heard_whole_is_stored_and_read_back_whole(tmp_path: Path) -> None:
    greeting = Greeting(TEXT, VOICE, GreetingAudio(tmp_path))
    assert greeting.audio.load(VOICE, TEXT) is None
    greeting.recording = True  # as play() sets it when nothing is stored

    played = [frame async for frame in greeting.record(spoken(TEXT))]

    assert not greeting.recording  # only the greeting's own speech is recorded
    stored = greeting.audio.load(VOICE, TEXT)
    assert stored, "nothing stored"
    seconds = sum(f.samples_per_channel for f in stored) / stored[0].sample_rate
    assert 1.0 < seconds < 5.0, seconds  # the sentence spoken, not a fragment
    assert b"".join(bytes(f.data) for f in stored) == b"".join(bytes(f.data) for f in played)
    assert greeting.audio.load("piper/en-GB", TEXT) is None  # another voice: its own audio
    assert suffixes(tmp_path) == [".pcm"]  # no temporary file left


async def test_an_interrupted_greeting_is_not_stored(tmp_path: Path) -> None:
    greeting = Greeting(TEXT, VOICE, GreetingAudio(tmp_path))
    frames = greeting.record(spoken(TEXT))
    async for _ in frames:
        break  # the user spoke over it: the rest is never asked for
    await frames.aclose()
    assert greeting.audio.load(VOICE, TEXT) is None
