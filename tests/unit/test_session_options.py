"""How the worker's capacity settings reach LiveKit: the room's audio input and text output, the
Prometheus multiprocess directory (only for job processes with metrics on), and the modules the
forkserver imports once for every job process."""

import importlib

import pytest
from pydantic import ValidationError

from voice_agent.session_setup import room_options
from voice_agent.settings import WorkerSettings
from voice_agent.prewarm import FORKSERVER_PRELOAD, prewarm
from voice_agent.server import entrypoint
from voice_agent.worker import build_server, metrics_dir


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


def test_the_forkserver_imports_what_each_job_process_would() -> None:
    """The forkserver skips a module it cannot import without a word: a renamed one would be
    imported again by every job process, as its conversation begins."""
    for name in FORKSERVER_PRELOAD:
        importlib.import_module(name)
    assert {entrypoint.__module__, prewarm.__module__} <= set(FORKSERVER_PRELOAD)
    server = build_server(settings(job_executor="process"))
    assert set(FORKSERVER_PRELOAD) <= set(server._preload_modules)
