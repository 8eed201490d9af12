"""How the worker's capacity settings reach LiveKit: the room's audio input and text output, and
the Prometheus multiprocess directory (only for job processes with metrics on)."""

import pytest
from pydantic import ValidationError

from voice_agent.session_setup import room_options
from voice_agent.settings import WorkerSettings
from voice_agent.worker import metrics_dir


def settings(**values: object) -> WorkerSettings:
    return WorkerSettings(provider_preset="local", **values)


def test_the_users_audio_is_taken_at_16_khz_with_gain_control_and_words_paced() -> None:
    options = room_options(settings())
    assert options.audio_input.sample_rate == 16000
    assert options.audio_input.auto_gain_control is True
    assert options.audio_input.frame_size_ms == 50
    assert options.text_output.sync_transcription is True


def test_the_capacity_levers_change_the_room_options() -> None:
    options = room_options(
        settings(
            audio_input_sample_rate=24000, input_auto_gain_control=False, sync_transcription=False
        )
    )
    assert options.audio_input.sample_rate == 24000
    assert options.audio_input.auto_gain_control is False
    assert options.text_output.sync_transcription is False


def test_a_sample_rate_the_models_cannot_take_is_refused() -> None:
    with pytest.raises(ValidationError, match="16000, 24000, 48000"):
        settings(audio_input_sample_rate=22050)


def test_only_job_processes_with_metrics_get_a_multiprocess_directory() -> None:
    assert metrics_dir(settings(job_executor="process", worker_metrics_port=9100)) is not None
    assert metrics_dir(settings(job_executor="thread", worker_metrics_port=9100)) is None
    assert metrics_dir(settings(job_executor="process", worker_metrics_port=0)) is None
    with pytest.raises(ValidationError):
        settings(job_executor="fork")
