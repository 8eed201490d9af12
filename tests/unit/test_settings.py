"""Configuration: production refuses development credentials; lists and registries parse."""

import pytest
from pydantic import ValidationError

from harness.processes import refusal
from session_api.settings import Settings
from voice_common.settings import CommonSettings

GOOD_SECRET = "k" * 40


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """Settings read the environment and `.env`: start each test from neither."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "APP_ENV",
        "LIVEKIT_API_KEY",
        "LIVEKIT_API_SECRET",
        "CORS_ALLOW_ORIGINS",
        "AGENTS",
        "INSPECTOR_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("key", "secret", "complaint"),
    [
        ("devkey", GOOD_SECRET, "development LiveKit credentials"),
        ("prodkey", "secret", "development LiveKit credentials"),
        ("prodkey", "short-secret", "at least 32 characters"),
    ],
)
def test_production_refuses_development_or_short_credentials(monkeypatch, key, secret, complaint):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("LIVEKIT_API_KEY", key)
    monkeypatch.setenv("LIVEKIT_API_SECRET", secret)
    with pytest.raises(ValidationError, match=complaint):
        CommonSettings()


def test_production_accepts_a_generated_pair(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("LIVEKIT_API_KEY", "APIprod")
    monkeypatch.setenv("LIVEKIT_API_SECRET", GOOD_SECRET)
    settings = Settings()
    assert settings.api_secret == GOOD_SECRET
    assert GOOD_SECRET not in repr(settings), "the secret must not show in reprs or logs"


def test_development_defaults_match_livekit_dev_mode():
    settings = Settings()
    assert (settings.livekit_api_key, settings.api_secret) == ("devkey", "secret")
    assert settings.cors_allow_origins == ["http://localhost:3000"]
    assert settings.agents["pm-agent"].agent_name == "pm-agent"
    assert settings.session_token_ttl_seconds == 900


def test_origins_and_agent_registry_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv(
        "AGENTS", '{"sales": {"agent_name": "sales-agent", "default_language": "hi-IN"}}'
    )
    settings = Settings()
    assert settings.cors_allow_origins == ["https://a.example", "https://b.example"]
    assert settings.agents["sales"].agent_name == "sales-agent"
    assert settings.agents["sales"].default_language == "hi-IN"


@pytest.mark.parametrize("command", [["session_api"], ["voice_agent", "start"]])
def test_services_refuse_to_start_in_production_with_one_clear_line(command, tmp_path):
    env = {"APP_ENV": "production", "LIVEKIT_API_KEY": "devkey", "LIVEKIT_API_SECRET": "secret"}
    line = refusal(command, env, tmp_path)
    assert "refusing to start" in line
    assert "LIVEKIT_API_KEY" in line


def test_env_example_copied_verbatim_is_a_valid_configuration(tmp_path, monkeypatch):
    from pathlib import Path

    from voice_agent.settings import WorkerSettings

    repo = Path(__file__).resolve().parents[2]
    (tmp_path / ".env").write_text((repo / ".env.example").read_text())
    monkeypatch.chdir(tmp_path)
    api, worker = Settings(), WorkerSettings()
    assert api.agents["pm-agent"].agent_name == worker.agent_name == "pm-agent"
    assert worker.stt_provider is None and worker.llm_temperature is None


def test_production_refuses_a_short_inspector_token(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("LIVEKIT_API_KEY", "APIprod")
    monkeypatch.setenv("LIVEKIT_API_SECRET", GOOD_SECRET)
    monkeypatch.setenv("INSPECTOR_TOKEN", "too-short")
    with pytest.raises(ValidationError, match="INSPECTOR_TOKEN of at least 32 characters"):
        Settings()
    monkeypatch.setenv("INSPECTOR_TOKEN", GOOD_SECRET)
    settings = Settings()
    assert settings.inspector_token is not None
    assert GOOD_SECRET not in repr(settings), "the token must not show in reprs or logs"


def test_inspector_is_off_by_default_and_any_token_goes_in_development(monkeypatch):
    assert Settings().inspector_token is None
    monkeypatch.setenv("INSPECTOR_TOKEN", "short")
    token = Settings().inspector_token
    assert token is not None and token.get_secret_value() == "short"
