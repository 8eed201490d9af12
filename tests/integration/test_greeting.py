"""The prepared greeting: a fixed sentence per language and kind of user, its audio recorded as
the real TTS (Piper here) first speaks it, and read back whole by every later session."""

from collections.abc import AsyncIterator
from pathlib import Path

from livekit import rtc

from voice_agent.greeting import Greeting, GreetingAudio, greeting_text
from voice_agent.providers import build_tts
from voice_agent.settings import TTSProvider, WorkerSettings
from voice_common.agents_file import PreparedGreeting

VOICE = "piper/en-US"
TEXT = "Hello! How can I help with your projects?"


def test_a_prepared_greeting_is_chosen_by_language_and_kind_of_user() -> None:
    front_desk = WorkerSettings(provider_preset="local").agents_config().first
    prepared = front_desk.prepared_greetings
    assert greeting_text(prepared, "en-US", returning=False) == TEXT
    assert greeting_text(prepared, "en-IN", returning=True) == prepared["en"].returning
    assert greeting_text(prepared, "hi-IN", returning=False) is None  # the LLM greets
    hindi = {"hi": PreparedGreeting(first="Namaste!", returning="Phir se namaste!")}
    assert greeting_text(hindi, "hi-IN", returning=True) == "Phir se namaste!"


def test_the_voice_identity_names_provider_voice_format_and_language() -> None:
    openai = WorkerSettings(provider_preset="openai", openai_api_key="k", deepgram_api_key="k")
    assert openai.voice_identity("en-US") == "openai/gpt-4o-mini-tts/alloy/mp3/en-US"
    assert openai.voice_identity("en-US") != openai.voice_identity("en-GB")
    assert openai.voice_identity("en-US", "nova") == "openai/gpt-4o-mini-tts/nova/mp3/en-US"


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
