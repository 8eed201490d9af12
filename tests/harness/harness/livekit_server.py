"""livekit-server with the repository's livekit.yaml, adjusted for processes on this host."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.paths import REPO
from harness.processes import ManagedProcess, free_port, http_get, require, spawn, wait_until


@dataclass(frozen=True)
class LiveKitPorts:
    http: int = 7880
    rtc_tcp: int = 7881
    rtc_udp: int = 7882

    @classmethod
    def free(cls) -> LiveKitPorts:
        return cls(free_port(), free_port(), free_port(socket.SOCK_DGRAM))


def livekit_config(ports: LiveKitPorts, redis_port: int | None, webhook_url: str) -> dict[str, Any]:
    """The repository's livekit.yaml with this run's ports, Redis and webhook URL.

    `redis_port=None` runs a single node whose room state lives in the server itself, so tests
    that stop Redis do not take LiveKit down with it."""
    config = yaml.safe_load((REPO / "livekit.yaml").read_text())
    config["port"] = ports.http
    # Natively every participant is on this host and sends media to 127.0.0.1, so the server
    # listens on loopback too (in a container it must not: see livekit.yaml).
    config["rtc"].update(
        tcp_port=ports.rtc_tcp,
        udp_port=ports.rtc_udp,
        node_ip="127.0.0.1",
        enable_loopback_candidate=True,
    )
    if redis_port is None:
        config.pop("redis", None)
    else:
        config["redis"] = {"address": f"127.0.0.1:{redis_port}"}
    config["webhook"]["urls"] = [webhook_url]
    return config


@dataclass
class LiveKitServer:
    ports: LiveKitPorts
    api_key: str
    api_secret: str
    proc: ManagedProcess
    config_path: Path
    log_dir: Path

    @property
    def http_url(self) -> str:
        """What server-side clients (the session API, the LiveKit server SDK) use."""
        return f"http://127.0.0.1:{self.ports.http}"

    @property
    def ws_url(self) -> str:
        """What participants (the worker, callers) connect to."""
        return f"ws://127.0.0.1:{self.ports.http}"

    def stop(self) -> None:
        self.proc.stop()

    def restart(self) -> None:
        """Stop it and start it again with the same configuration (ports, keys, Redis)."""
        self.proc.stop()
        self.proc = _spawn_livekit(
            self.config_path, self.ports.http, self.api_key, self.api_secret, self.log_dir,
            self.proc.name,
        )  # fmt: skip


def _spawn_livekit(
    config_path: Path, http_port: int, api_key: str, api_secret: str, log_dir: Path, name: str
) -> ManagedProcess:
    env = {"LIVEKIT_KEYS": f"{api_key}: {api_secret}", "LIVEKIT_WEBHOOK_API_KEY": api_key}
    cmd = [require("livekit-server"), "--config", str(config_path), "--bind", "127.0.0.1"]
    proc = spawn(name, cmd, log_dir, env)
    url = f"http://127.0.0.1:{http_port}/"
    wait_until(proc, lambda: http_get(url)[1].strip() == "OK", "answering OK on GET /")
    return proc


def start_livekit(
    config: dict[str, Any],
    api_key: str,
    api_secret: str,
    work_dir: Path,
    log_dir: Path,
    name: str = "livekit",
) -> LiveKitServer:
    work_dir.mkdir(parents=True, exist_ok=True)
    config_path = work_dir / f"{name}.yaml"
    config_path.write_text(yaml.safe_dump(config))
    ports = LiveKitPorts(config["port"], config["rtc"]["tcp_port"], config["rtc"]["udp_port"])
    proc = _spawn_livekit(config_path, ports.http, api_key, api_secret, log_dir, name)
    return LiveKitServer(ports, api_key, api_secret, proc, config_path, log_dir)
