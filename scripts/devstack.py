"""Run the stack's processes natively: redis-server, livekit-server, session-api, the worker, nginx.

One launcher serves `make dev` (fixed ports, data kept under .cache/dev) and the test fixtures
(free loopback ports, throw-away directories), so the native stack that tests prove is the one a
developer runs. Every process binds to 127.0.0.1 and is stopped by its process id.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from voice_agent.log_messages import WORKER_READY
from voice_common.logs import find_log_records

REPO = Path(__file__).resolve().parents[1]
TOOLS_BIN = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "voice-stack" / "bin"
LIVEKIT_VERSION = "1.13.5"

INSTALL_HINTS = {
    "redis-server": "install it: apt-get install redis-server (or run `make setup`)",
    "livekit-server": (
        f"install it: `make setup`, or CGO_ENABLED=0 go install "
        f"github.com/livekit/livekit-server/cmd/server@v{LIVEKIT_VERSION} and rename the binary"
    ),
    "nginx": "install it: apt-get install nginx-light (or run `make setup`)",
    "chromium": "install it: apt-get install chromium (or run `make setup`)",
    "node": "install Node.js 22.22 or later, then `make setup` (npm ci in frontend/)",
}


class StartupError(RuntimeError):
    """A process exited or did not become ready; the message carries the end of its log."""


def find_binary(name: str) -> str | None:
    """The path of `name` on PATH or in the tools cache `make setup` fills, else None."""
    return shutil.which(name) or shutil.which(name, path=str(TOOLS_BIN))


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    """(status, body) of a GET; status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (OSError, urllib.error.URLError):
        return 0, ""


@dataclass
class ManagedProcess:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM by pid, then SIGKILL if it has not exited within `timeout`."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        return self.popen.returncode

    def kill(self) -> None:
        """SIGKILL by pid: the abrupt failure fault tests need."""
        if self.alive():
            self.popen.kill()
            self.popen.wait(5)


def spawn(
    name: str, cmd: list[str], log_dir: Path, env: dict[str, str] | None = None, cwd: Path = REPO
) -> ManagedProcess:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:  # a fresh log per start: readiness reads only this run
        popen = subprocess.Popen(  # noqa: S603 - fixed argument lists
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
        )
    return ManagedProcess(name, popen, log_path)


def wait_until(
    proc: ManagedProcess, ready: Callable[[], bool], what: str, timeout: float = 60.0
) -> None:
    """Poll `ready` until it holds; fail early, with the log, if the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if not proc.alive():
            raise StartupError(
                f"{proc.name} exited ({proc.popen.returncode}) before {what}:\n{proc.log_tail()}"
            )
        time.sleep(0.05)
    proc.stop()
    raise StartupError(f"{proc.name} not ready ({what}) after {timeout:.0f}s:\n{proc.log_tail()}")


def _require(name: str) -> str:
    path = find_binary(name)
    if path is None:
        raise StartupError(f"{name} not found; {INSTALL_HINTS[name]}")
    return path


# --- redis ------------------------------------------------------------------------------------


def redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(port: int, data_dir: Path, log_dir: Path) -> ManagedProcess:
    """Append-only file with fsync on every write: a restart loses nothing acknowledged."""
    data_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        _require("redis-server"),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data_dir),
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
        "--daemonize",
        "no",
    ]
    proc = spawn(f"redis-{port}", cmd, log_dir)
    wait_until(proc, lambda: redis_ping(port), "answering PING")
    return proc


# --- livekit-server ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveKitPorts:
    http: int = 7880
    rtc_tcp: int = 7881
    rtc_udp: int = 7882

    @classmethod
    def free(cls) -> LiveKitPorts:
        return cls(free_port(), free_port(), free_port(socket.SOCK_DGRAM))


def livekit_config(ports: LiveKitPorts, redis_port: int | None, webhook_url: str) -> dict:
    """The repository's livekit.yaml with this run's ports, Redis and webhook URL."""
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


def start_livekit(
    config: dict,
    api_key: str,
    api_secret: str,
    work_dir: Path,
    log_dir: Path,
    name: str = "livekit",
) -> ManagedProcess:
    work_dir.mkdir(parents=True, exist_ok=True)
    config_path = work_dir / f"{name}.yaml"
    config_path.write_text(yaml.safe_dump(config))
    env = {"LIVEKIT_KEYS": f"{api_key}: {api_secret}", "LIVEKIT_WEBHOOK_API_KEY": api_key}
    cmd = [_require("livekit-server"), "--config", str(config_path), "--bind", "127.0.0.1"]
    proc = spawn(name, cmd, log_dir, env)
    url = f"http://127.0.0.1:{config['port']}/"
    wait_until(proc, lambda: http_get(url)[1].strip() == "OK", "answering OK on GET /")
    return proc


# --- our services -----------------------------------------------------------------------------


def start_session_api(
    env: dict[str, str], log_dir: Path, name: str = "session-api"
) -> ManagedProcess:
    """`python -m session_api` with `env` (HOST, PORT, REDIS_URL, LIVEKIT_*...)."""
    proc = spawn(name, [sys.executable, "-m", "session_api"], log_dir, env)
    url = f"http://{env.get('HOST', '127.0.0.1')}:{env['PORT']}/healthz"
    wait_until(proc, lambda: http_get(url)[0] == 200, "answering /healthz")
    return proc


def start_worker(
    env: dict[str, str], log_dir: Path, name: str = "voice-agent-worker"
) -> ManagedProcess:
    """`python -m voice_agent start`, ready once it has registered with livekit-server."""
    proc = spawn(name, [sys.executable, "-m", "voice_agent", "start"], log_dir, env)
    wait_until(
        proc,
        lambda: bool(find_log_records(proc.log_text(), WORKER_READY)),
        "registering with LiveKit",
    )
    return proc


def nginx_config(web_port: int, api_upstream: str, work_dir: Path) -> str:
    """A main nginx.conf around the same server block the web image renders."""
    template = (REPO / "frontend" / "nginx" / "default.conf.template").read_text()
    server = (
        template.replace("${SESSION_API_UPSTREAM}", api_upstream)
        .replace("${WEB_PORT}", f"127.0.0.1:{web_port}")
        .replace("/usr/share/nginx/html", str(REPO / "frontend" / "dist"))
    )
    temp = work_dir / "nginx-temp"
    temp.mkdir(parents=True, exist_ok=True)
    paths = "\n".join(
        f"  {kind}_temp_path {temp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"daemon off;\nworker_processes 1;\npid {work_dir / 'nginx.pid'};\nerror_log stderr warn;\n"
        f"events {{ worker_connections 1024; }}\n"
        f"http {{\n  include /etc/nginx/mime.types;\n  default_type application/octet-stream;\n"
        f"  access_log off;\n{paths}\n{server}\n}}\n"
    )


def start_web(web_port: int, api_port: int, work_dir: Path, log_dir: Path) -> ManagedProcess:
    if not (REPO / "frontend" / "dist" / "index.html").exists():
        raise StartupError("frontend/dist is missing: run `make setup` (npm ci && npm run build)")
    work_dir.mkdir(parents=True, exist_ok=True)
    conf = work_dir / "nginx.conf"
    conf.write_text(nginx_config(web_port, f"127.0.0.1:{api_port}", work_dir))
    proc = spawn("web", [_require("nginx"), "-e", "stderr", "-c", str(conf)], log_dir)
    wait_until(proc, lambda: http_get(f"http://127.0.0.1:{web_port}/")[0] == 200, "serving /")
    return proc


# --- the whole stack --------------------------------------------------------------------------


@dataclass(frozen=True)
class StackPorts:
    redis: int = 6379
    livekit: LiveKitPorts = field(default_factory=LiveKitPorts)
    api: int = 8000
    worker_http: int = 8081
    web: int = 3000

    @classmethod
    def from_env(cls) -> StackPorts:
        """`make dev`'s ports: the compose defaults, each overridable by a DEV_*_PORT variable."""

        def port(name: str, default: int) -> int:
            return int(os.environ.get(f"DEV_{name}_PORT", default))

        return cls(
            redis=port("REDIS", 6379),
            livekit=LiveKitPorts(
                port("LIVEKIT", 7880), port("LIVEKIT_TCP", 7881), port("LIVEKIT_UDP", 7882)
            ),
            api=port("API", 8000),
            worker_http=port("WORKER", 8081),
            web=port("WEB", 3000),
        )


@dataclass
class Stack:
    ports: StackPorts
    api_key: str
    api_secret: str
    processes: list[ManagedProcess] = field(default_factory=list)

    @property
    def livekit_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.livekit.http}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.ports.redis}/0"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    def service_env(self) -> dict[str, str]:
        """The environment session-api and the worker share in this stack."""
        return {
            "LIVEKIT_URL": self.livekit_url,
            "LIVEKIT_API_KEY": self.api_key,
            "LIVEKIT_API_SECRET": self.api_secret,
            "REDIS_URL": self.redis_url,
        }

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()


def start_stack(
    ports: StackPorts, run_dir: Path, api_key: str, api_secret: str, with_web: bool = True
) -> Stack:
    stack = Stack(ports, api_key, api_secret)
    logs = run_dir / "logs"
    try:
        stack.processes.append(start_redis(ports.redis, run_dir / "redis", logs))
        webhook = f"{stack.api_url}/api/livekit/webhook"
        config = livekit_config(ports.livekit, ports.redis, webhook)
        stack.processes.append(start_livekit(config, api_key, api_secret, run_dir, logs))
        env = stack.service_env()
        stack.processes.append(
            start_session_api(
                {
                    **env,
                    "HOST": "127.0.0.1",
                    "PORT": str(ports.api),
                    "LIVEKIT_PUBLIC_URL": f"ws://localhost:{ports.livekit.http}",
                    "CORS_ALLOW_ORIGINS": f"http://localhost:{ports.web}",
                },
                logs,
            )
        )
        stack.processes.append(
            start_worker(
                {
                    **env,
                    "LIVEKIT_URL": f"ws://127.0.0.1:{ports.livekit.http}",
                    "WORKER_HTTP_PORT": str(ports.worker_http),
                },
                logs,
            )
        )
        if with_web:
            stack.processes.append(start_web(ports.web, ports.api, run_dir, logs))
    except BaseException:
        stack.stop()
        raise
    return stack


def _serve_forever(stack: Stack) -> int:
    """Block until SIGINT/SIGTERM or until a process dies; then stop everything."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    died = None
    while not stop.wait(0.5):
        died = next((p for p in stack.processes if not p.alive()), None)
        if died:
            print(
                f"devstack: {died.name} exited ({died.popen.returncode}):\n{died.log_tail()}",
                file=sys.stderr,
            )
            break
    stack.stop()
    print("devstack: stopped", flush=True)
    return 1 if died else 0


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the voice stack natively (make dev).")
    parser.add_argument("--run-dir", type=Path, default=REPO / ".cache" / "dev")
    args = parser.parse_args()
    ports = StackPorts.from_env()
    api_key = os.environ.get("LIVEKIT_API_KEY", "devkey")
    api_secret = os.environ.get("LIVEKIT_API_SECRET", "secret")
    try:
        stack = start_stack(ports, args.run_dir, api_key, api_secret)
    except StartupError as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 1
    print(
        f"devstack: ready\n  web          http://localhost:{ports.web}\n"
        f"  session-api  {stack.api_url}  (readyz: {stack.api_url}/readyz)\n"
        f"  livekit      ws://localhost:{ports.livekit.http}\n"
        f"  logs         {args.run_dir / 'logs'}\nCtrl-C stops everything.",
        flush=True,
    )
    return _serve_forever(stack)


if __name__ == "__main__":
    sys.exit(main())
