"""The whole voice stack as native processes on free loopback ports, for the voice benchmarks.

redis-server, livekit-server, session-api and the worker are started through `devstack` (the
launcher `make dev` and the test fixtures use), and the provider fakes (`fakes.cloud_speech`:
the ScriptedLLM and the simulated OpenAI audio API) in a process of their own, so their timers do
not share an event loop with the callers. Two provider setups:

- `local`: Whisper tiny.en and Piper in the worker, the ScriptedLLM answering at once
  (`PROVIDER_PRESET=local`), as in the tests;
- `cloud`: the real OpenAI STT and TTS plugins talking to the simulated audio API (STT 150 ms,
  TTS first byte 100 ms, streamed MP3) through `OPENAI_BASE_URL`, and the ScriptedLLM with a
  300 ms first token behind the OpenAI LLM plugin (`LLM_PROVIDER=openai_compatible`).

Every process is stopped by its pid.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "tests"))

import devstack  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

SIMULATED = {"stt_delay": 0.15, "llm_first_token": 0.30, "tts_first_byte": 0.10}


@dataclass
class VoiceStack:
    mode: str
    run_dir: Path
    processes: list[devstack.ManagedProcess] = field(default_factory=list)
    api_url: str = ""
    livekit_url: str = ""
    llm_url: str = ""
    speech_url: str = ""
    worker: devstack.ManagedProcess | None = None
    worker_env: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()

    def worker_log(self) -> str:
        return self.worker.log_text() if self.worker else ""

    def restart_worker(self, **overrides: str) -> None:
        """A fresh worker (new job processes) with some settings changed."""
        if self.worker is not None:
            self.worker.stop()
            self.processes.remove(self.worker)
        env = {**self.worker_env, **overrides}
        self.worker = devstack.start_worker(env, self.run_dir / "logs", f"worker-{time.time():.0f}")
        self.processes.append(self.worker)


def _start_fakes(
    run_dir: Path, mode: str, transcript: str
) -> tuple[devstack.ManagedProcess, dict[str, str]]:
    cloud = mode == "cloud"
    cmd = [
        sys.executable,
        "-m",
        "fakes.cloud_speech",
        "--llm-first-token",
        str(SIMULATED["llm_first_token"] if cloud else 0.0),
        "--stt-delay",
        str(SIMULATED["stt_delay"]),
        "--tts-first-byte",
        str(SIMULATED["tts_first_byte"]),
        "--transcript",
        transcript,
    ]
    env = {"PYTHONPATH": str(REPO / "tests"), "HF_HUB_OFFLINE": "1"}
    proc = devstack.spawn("provider-fakes", cmd, run_dir / "logs", env)
    devstack.wait_until(proc, lambda: '"llm_url"' in proc.log_text(), "serving the fakes")
    line = next(x for x in proc.log_text().splitlines() if '"llm_url"' in x)
    return proc, json.loads(line)


def start_voice_stack(
    mode: str,
    run_dir: Path,
    *,
    transcript: str,
    max_jobs: int = 25,
    worker_overrides: dict[str, str] | None = None,
    api_overrides: dict[str, str] | None = None,
) -> VoiceStack:
    """Start everything; on failure stop what was started and raise."""
    stack = VoiceStack(mode, run_dir)
    logs = run_dir / "logs"
    key, secret = "bench-voice", secrets.token_urlsafe(32)
    try:
        redis_port, api_port = devstack.free_port(), devstack.free_port()
        stack.processes.append(devstack.start_redis(redis_port, run_dir / "redis", logs))
        ports = devstack.LiveKitPorts.free()
        config = devstack.livekit_config(
            ports, redis_port, f"http://127.0.0.1:{api_port}/api/livekit/webhook"
        )
        stack.processes.append(devstack.start_livekit(config, key, secret, run_dir, logs))
        stack.livekit_url = f"ws://127.0.0.1:{ports.http}"
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        common = {
            "LIVEKIT_API_KEY": key,
            "LIVEKIT_API_SECRET": secret,
            "REDIS_URL": redis_url,
            "HF_HUB_OFFLINE": "1",
        }
        api_env = {
            **common,
            "HOST": "127.0.0.1",
            "PORT": str(api_port),
            "LIVEKIT_URL": f"http://127.0.0.1:{ports.http}",
            "LIVEKIT_PUBLIC_URL": stack.livekit_url,
            "RATE_LIMIT_PER_USER_PER_MINUTE": "0",
            "RATE_LIMIT_PER_IP_PER_MINUTE": "0",
            "LOG_LEVEL": "warning",
            **(api_overrides or {}),
        }
        stack.processes.append(devstack.start_session_api(api_env, logs))
        stack.api_url = f"http://127.0.0.1:{api_port}"
        fakes, urls = _start_fakes(run_dir, mode, transcript)
        stack.processes.append(fakes)
        stack.llm_url, stack.speech_url = urls["llm_url"], urls["speech_url"]
        env = {
            **common,
            "LIVEKIT_URL": stack.livekit_url,
            "LLM_BASE_URL": stack.llm_url,
            "WORKER_HTTP_PORT": str(devstack.free_port()),
            "WORKER_METRICS_PORT": str(devstack.free_port()),
            "MAX_CONCURRENT_JOBS": str(max_jobs),
            "DOCS_FOLDER": str(REPO / "docs"),
        }
        if mode == "local":
            env["PROVIDER_PRESET"] = "local"
        else:
            env.update(
                PROVIDER_PRESET="auto",
                STT_PROVIDER="openai",
                TTS_PROVIDER="openai",
                LLM_PROVIDER="openai_compatible",
                OPENAI_API_KEY="sk-simulated-not-a-key",
                OPENAI_BASE_URL=stack.speech_url,
            )
        stack.worker_env = {**env, **(worker_overrides or {})}
        stack.restart_worker()
    except BaseException:
        stack.stop()
        raise
    return stack


# --- process accounting -----------------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes, in seconds."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def rss_bytes(pids: list[int]) -> int:
    """Resident memory of these processes (RSS from /proc/<pid>/statm), summed."""
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
        except OSError:
            continue
    return total


def pss_bytes(pids: list[int]) -> int:
    """Proportional set size (shared pages split between their users), summed: the memory the
    processes really cost together."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total
