"""Provider presets and factories: the right plugin classes, and clear errors for missing keys.

Cloud plugins are constructed for real (construction makes no network call) with placeholder
keys; nothing here talks to a provider.
"""

import pytest
from livekit.plugins import deepgram, openai, sarvam
from livekit.plugins.sarvam import tts as sarvam_tts
from pydantic import ValidationError

from harness.processes import refusal
from voice_agent.local_speech import PiperTTS, WhisperSTT
from voice_agent.providers import SarvamSTT, build_llm, build_stt, build_tts, indian_language
from voice_agent.settings import LLMProvider, STTProvider, TTSProvider, WorkerSettings

KEYS = {"openai_api_key": "sk-test", "deepgram_api_key": "dg-test", "sarvam_api_key": "sv-test"}
PROVIDER_ENV = (
    "PROVIDER_PRESET", "STT_PROVIDER", "LLM_PROVIDER", "TTS_PROVIDER",
    "OPENAI_API_KEY", "DEEPGRAM_API_KEY", "SARVAM_API_KEY", "SARVAM_BASE_URL", "DEEPGRAM_BASE_URL",
    "OPENAI_BASE_URL",
)  # fmt: skip


@pytest.fixture(autouse=True)
def no_provider_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)


def build_all(settings: WorkerSettings, language: str = "en-US"):
    stt, llm, tts = settings.chosen_providers()
    return (
        build_stt(settings, stt, language),
        build_llm(settings, llm),
        build_tts(settings, tts, language),
    )


@pytest.mark.parametrize(
    ("preset", "classes"),
    [
        ("openai", (deepgram.STT, openai.LLM, openai.TTS)),
        ("sarvam", (SarvamSTT, openai.LLM, sarvam.TTS)),  # SarvamSTT is a sarvam.STT
        ("local", (WhisperSTT, openai.LLM, PiperTTS)),
    ],
)
def test_each_preset_builds_its_plugins(preset, classes):
    settings = WorkerSettings(provider_preset=preset, **KEYS)
    built = build_all(settings, "en-IN" if preset == "sarvam" else "en-US")
    assert tuple(type(p) for p in built) == classes


def test_local_preset_points_the_llm_at_the_compatible_server():
    settings = WorkerSettings(provider_preset="local", llm_base_url="http://127.0.0.1:9/v1")
    llm = build_llm(settings, LLMProvider.openai_compatible)
    assert llm.model == settings.llm_compatible_model
    assert "127.0.0.1:9" in llm.provider


def test_openai_preset_uses_gpt_4o_mini_and_alloy():
    settings = WorkerSettings(provider_preset="openai", **KEYS)
    _, llm, tts = build_all(settings)
    assert llm.model == "gpt-4o-mini"
    assert tts._opts.voice == "alloy"


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({}, (STTProvider.whisper, LLMProvider.openai_compatible, TTSProvider.piper)),
        (
            {"openai_api_key": "sk"},
            (STTProvider.openai, LLMProvider.openai, TTSProvider.openai),
        ),
        (
            {"openai_api_key": "sk", "deepgram_api_key": "dg"},
            (STTProvider.deepgram, LLMProvider.openai, TTSProvider.openai),
        ),
        (
            {"sarvam_api_key": "sv"},
            (STTProvider.sarvam, LLMProvider.openai_compatible, TTSProvider.sarvam),
        ),
    ],
)
def test_auto_picks_per_component_the_cloud_provider_whose_key_is_set(keys, expected):
    assert WorkerSettings(**keys).chosen_providers() == expected


def test_explicit_settings_override_the_preset():
    settings = WorkerSettings(provider_preset="openai", tts_provider="piper", **KEYS)
    assert settings.chosen_providers()[2] is TTSProvider.piper


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        ({"provider_preset": "openai"}, "DEEPGRAM_API_KEY"),
        ({"provider_preset": "openai", "deepgram_api_key": "dg"}, "OPENAI_API_KEY"),
        ({"provider_preset": "sarvam", "openai_api_key": "sk"}, "SARVAM_API_KEY"),
        ({"tts_provider": "sarvam"}, "SARVAM_API_KEY"),
    ],
)
def test_an_explicit_provider_without_its_key_names_the_variable(settings, variable):
    with pytest.raises(ValidationError, match=variable):
        WorkerSettings(**settings)


def test_the_worker_refuses_to_start_with_one_line_naming_the_missing_key(tmp_path):
    env = {"PROVIDER_PRESET": "openai", "HOME": str(tmp_path)}
    line = refusal(["voice_agent", "start"], env, tmp_path)
    assert "DEEPGRAM_API_KEY" in line


def test_sarvam_speaker_is_validated_against_the_model():
    with pytest.raises(ValidationError, match="does not speak with bulbul:v2"):
        WorkerSettings(provider_preset="sarvam", sarvam_tts_speaker="ritu", **KEYS)
    assert WorkerSettings(provider_preset="sarvam", sarvam_tts_speaker="karun", **KEYS)


@pytest.mark.parametrize(
    ("language", "sarvam_code"), [("hi-IN", "hi-IN"), ("ta", "ta-IN"), ("en-US", "en-IN")]
)
def test_the_session_language_reaches_stt_and_tts(language, sarvam_code):
    settings = WorkerSettings(provider_preset="sarvam", **KEYS)
    stt, _, tts = build_all(settings, language)
    assert indian_language(language) == sarvam_code
    assert stt._opts.language == sarvam_code
    assert tts._opts.target_language_code == sarvam_code


async def test_sarvam_base_url_puts_every_sarvam_endpoint_under_it():
    settings = WorkerSettings(
        provider_preset="sarvam", sarvam_base_url="https://127.0.0.1:9/sarvam/", **KEYS
    )
    stt, _, tts = build_all(settings, "hi-IN")
    assert (tts._opts.base_url, tts._opts.ws_url) == (
        "https://127.0.0.1:9/sarvam/text-to-speech",
        "wss://127.0.0.1:9/sarvam/text-to-speech/ws",
    )
    stream = stt.stream()  # its connection task has not run yet: nothing is dialled
    try:
        assert stream._opts.streaming_url == "wss://127.0.0.1:9/sarvam/speech-to-text/ws"
        assert stream._opts.language == "hi-IN"
    finally:
        await stream.aclose()


def test_without_sarvam_base_url_the_plugins_keep_their_own_endpoints():
    stt, _, tts = build_all(WorkerSettings(provider_preset="sarvam", **KEYS), "en-IN")
    assert (tts._opts.base_url, tts._opts.ws_url) == (
        sarvam_tts.SARVAM_TTS_BASE_URL,
        sarvam_tts.SARVAM_TTS_WS_URL,
    )
    assert stt._streaming_url is None  # each stream takes the model's own address


VOCABULARY = ["Apollo", "Priya"]


@pytest.mark.parametrize(
    ("provider", "model", "hint", "expected"),
    [
        (STTProvider.deepgram, {}, lambda stt: stt._opts.keyterm, VOCABULARY),
        (
            STTProvider.deepgram,
            {"deepgram_model": "nova-2-general"},
            lambda stt: [word for word, _boost in stt._opts.keywords],
            VOCABULARY,
        ),
        (
            STTProvider.openai,
            {},
            lambda stt: stt._opts.prompt.removesuffix(".").split(": ")[1],
            "Apollo, Priya",
        ),
        (STTProvider.whisper, {}, lambda stt: stt._hotwords, "Apollo Priya"),
    ],
)
def test_the_stt_is_told_the_vocabulary(provider, model, hint, expected):
    settings = WorkerSettings(**KEYS, **model)
    stt = build_stt(settings, provider, "en-US", VOCABULARY)
    assert hint(stt) == expected


@pytest.mark.parametrize("provider", list(STTProvider))
def test_without_a_vocabulary_no_hint_is_sent(provider):
    stt = build_stt(WorkerSettings(**KEYS), provider, "en-IN")
    opts = getattr(stt, "_opts", None)
    assert not getattr(opts, "keyterm", None) and not getattr(opts, "keywords", None)
    assert not isinstance(getattr(opts, "prompt", None), str)
    assert getattr(stt, "_hotwords", None) is None


def test_base_urls_reach_the_plugins_of_the_openai_preset():
    settings = WorkerSettings(
        provider_preset="openai",
        deepgram_base_url="ws://127.0.0.1:9/v1/listen",
        openai_base_url="http://127.0.0.1:9/v1/",
        stt_fallback_provider="openai",
        **KEYS,
    )
    stt, llm, tts = build_all(settings)
    assert stt._opts.endpoint_url == "ws://127.0.0.1:9/v1/listen"
    openai_stt = build_stt(settings, STTProvider.openai, "en-US")
    for plugin in (openai_stt, llm, tts):
        assert str(plugin._client.base_url) == "http://127.0.0.1:9/v1/", plugin


def test_without_base_urls_the_plugins_keep_their_defaults():
    default_stt = deepgram.STT(api_key="dg-test")
    stt, llm, _ = build_all(WorkerSettings(provider_preset="openai", **KEYS))
    assert stt._opts.endpoint_url == default_stt._opts.endpoint_url
    assert str(llm._client.base_url) == str(openai.LLM(api_key="sk-test")._client.base_url)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("deepgram_base_url", "listen-endpoint/v1/listen"),
        ("deepgram_base_url", "ftp://127.0.0.1/v1/listen"),
        ("openai_base_url", "ws://127.0.0.1/v1"),
        ("openai_base_url", "http:///v1"),
    ],
)
def test_a_base_url_that_is_not_one_is_refused_by_name(field, value):
    with pytest.raises(ValidationError) as error:
        WorkerSettings(provider_preset="openai", **{field: value}, **KEYS)
    assert field in str(error.value) and "absolute" in str(error.value)


def test_an_empty_base_url_means_unset():
    settings = WorkerSettings(deepgram_base_url="", openai_base_url=" ", **KEYS)
    assert (settings.deepgram_base_url, settings.openai_base_url) == (None, None)


def test_an_empty_openai_base_url_in_the_environment_is_not_taken_as_the_url(monkeypatch):
    default = str(openai.LLM(api_key="sk-test")._client.base_url)
    monkeypatch.setenv("OPENAI_BASE_URL", "")  # what compose forwards when .env leaves it unset
    _, llm, tts = build_all(WorkerSettings(provider_preset="openai", **KEYS))
    assert str(llm._client.base_url) == str(tts._client.base_url) == default
