"""The capacity benchmark's CPU profile of the worker (`bench/worker_profile.py`): each py-spy
stack of the worker's process tree goes to the work it does, by its processes and its frames."""

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def worker_profile():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(BENCH))  # the benchmarks import each other by module name
    try:
        import worker_profile

        yield worker_profile
    finally:
        sys.path.remove(str(BENCH))


MAIN = 'process 10:"python -m voice_agent start"'
FORKSERVER = 'process 11:"python -B -c from multiprocessing.forkserver import main; main(19)"'
JOB = 'process 12:"python -B -c from multiprocessing.forkserver import main; main(19)"'
LOOP = "BaseEventLoop._run_once (asyncio/base_events.py:1922);Handle._run (asyncio/events.py:80)"


def stack(*frames: str) -> str:
    return ";".join(frames)


def test_each_process_of_the_tree_is_told_apart(worker_profile) -> None:  # type: ignore[no-untyped-def]
    classify = worker_profile.classify
    assert classify(stack(MAIN, LOOP, "Worker._update (agents/worker.py:9)")) == worker_profile.MAIN
    forking = stack(MAIN, FORKSERVER, "_serve_one (multiprocessing/forkserver.py:2)")
    assert classify(forking) == worker_profile.STARTING
    vad = stack(MAIN, FORKSERVER, JOB, LOOP, "VADStream._main_task (silero/vad.py:300)")
    assert classify(vad) == "the VAD (Silero)"


def test_the_first_rule_that_matches_names_the_work(worker_profile) -> None:  # type: ignore[no-untyped-def]
    classify = worker_profile.classify
    job = (MAIN, FORKSERVER, JOB, LOOP)
    # the VAD's ONNX session is the VAD's, though the end-of-turn model also runs Session.run
    onnx = stack(*job, "OnnxModel.__call__ (silero/onnx_model.py:70)", "Session.run (ort.py:1)")
    assert classify(onnx) == "the VAD (Silero)"
    assert classify(stack(*job, "Session.run (ort.py:1)")) == "the end-of-turn model"
    assert classify(stack(*job, "Agent.tick (livekit/agents/voice/x.py:1)")) == worker_profile.REST


def test_a_thread_waiting_is_not_work(worker_profile) -> None:  # type: ignore[no-untyped-def]
    classify = worker_profile.classify
    assert classify(stack(MAIN, FORKSERVER, JOB, "EpollSelector.select (selectors.py:468)")) is None
    assert (
        classify(stack(MAIN, "Thread.run (threading.py:1)", "Event.wait (threading.py:2)")) is None
    )


def test_the_threads_without_python_get_what_the_samples_leave(  # type: ignore[no-untyped-def]
    worker_profile, tmp_path: Path
) -> None:
    raw = tmp_path / "py-spy.txt"
    vad = stack(MAIN, FORKSERVER, JOB, LOOP, "VADStream._main_task (silero/vad.py:300)")
    raw.write_text(f"{vad} 100\n{stack(MAIN, LOOP)} 50\n")  # 1.5 s of samples at 100 Hz
    profile = worker_profile.WorkerProfile.of(raw, measured=0.2, turns=2, seconds=10.0)
    assert profile is not None
    assert profile.cores["the VAD (Silero)"] == pytest.approx(0.1)
    assert profile.cores[worker_profile.MAIN] == pytest.approx(0.05)
    assert profile.cores[worker_profile.NATIVE] == pytest.approx(0.05)
