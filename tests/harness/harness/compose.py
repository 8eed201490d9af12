"""The compose stack under test: docker-compose.yml with the test-only override of tests/compose/,
run with the real Docker CLI as a compose project of its own (never the developer's own
`docker compose up`), on the ports the README names, bound to loopback.

In CI (`CI=true`) a missing Docker engine or compose plugin fails the tests; elsewhere they are
skipped with what to run (`make setup-docker`, as root, installs and starts both).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from harness.infra import missing
from harness.paths import REPO
from voice_common.logs import parse_log_records

PROJECT = "voice-stack-compose-test"
FILES = (REPO / "docker-compose.yml", REPO / "tests" / "compose" / "docker-compose.test.yml")
# What the README's quick start uses.
API_URL = "http://localhost:8000"
WEB_URL = "http://localhost:3000"
LIVEKIT_URL = "ws://localhost:7880"
SERVICES = ("livekit", "redis", "session-api", "voice-agent-worker", "web")
SETUP_HINT = "run `make setup-docker` as root (Debian's docker.io, dockerd, the compose plugin)"
T = TypeVar("T")


def require_docker() -> None:
    """Fail in CI, skip elsewhere, unless `docker` reaches an engine and has the compose plugin."""
    problem = None
    if shutil.which("docker") is None:
        problem = "the docker CLI is missing"
    elif subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        problem = "no Docker engine answers (dockerd not running, or no permission)"
    elif subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0:
        problem = "the docker compose plugin is missing"
    if problem:
        missing(f"{problem}; {SETUP_HINT}")


def wait_until(probe: Callable[[], T | None], within: float, what: str, every: float = 0.5) -> T:
    """Poll `probe` until it returns something other than None or False; fail after `within` s.
    For state that only shows through an API or `docker inspect` (no event to wait on)."""
    deadline = time.monotonic() + within
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within:.0f} s")
        time.sleep(every)


@dataclass
class ComposeStack:
    env: dict[str, str]
    project: str = PROJECT

    def compose(self, *args: str, timeout: float = 600, check: bool = True) -> str:
        """`docker compose -p PROJECT -f docker-compose.yml -f the override ARGS`; its output."""
        files = [arg for path in FILES for arg in ("-f", str(path))]
        command = ["docker", "compose", "-p", self.project, *files, *args]
        done = subprocess.run(
            command, cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"{' '.join(command[2:])} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
            )
        return done.stdout + done.stderr

    def timed(self, *args: str, timeout: float = 600) -> float:
        start = time.monotonic()
        self.compose(*args, timeout=timeout)
        return time.monotonic() - start

    def container_ids(self, service: str) -> list[str]:
        return self.compose("ps", "-q", service).split()

    def container_id(self, service: str) -> str:
        (container,) = self.container_ids(service)
        return container

    def states(self) -> dict[str, list[dict[str, Any]]]:
        """service -> `docker compose ps -a` rows of its containers (State, Health, ExitCode...)."""
        rows: dict[str, list[dict[str, Any]]] = {}
        for line in self.compose("ps", "-a", "--format", "json").splitlines():
            if line.strip():
                row = json.loads(line)
                rows.setdefault(row["Service"], []).append(row)
        return rows

    @staticmethod
    def inspect(container: str) -> dict[str, Any]:
        done = subprocess.run(
            ["docker", "inspect", container], capture_output=True, text=True, check=True
        )
        return json.loads(done.stdout)[0]

    @staticmethod
    def log_records(container: str) -> list[dict[str, Any]]:
        """The container's JSON log lines (the services log one JSON object per line)."""
        done = subprocess.run(["docker", "logs", container], capture_output=True, text=True)
        return parse_log_records(done.stdout + done.stderr)

    def messages(self, container: str, prefix: str) -> list[str]:
        """The log messages of `container` starting with `prefix`."""
        return [
            str(r["message"])
            for r in self.log_records(container)
            if str(r.get("message", "")).startswith(prefix)
        ]

    def wait_healthy(self, service: str, within: float = 120) -> None:
        def healthy() -> bool:
            rows = self.states().get(service, [])
            return bool(rows) and all(r.get("Health") == "healthy" for r in rows)

        wait_until(healthy, within, f"{service} healthy")

    def down(self, *args: str, log_to: Path | None = None) -> None:
        """`down ARGS`, first appending the containers' logs to `log_to` (they go with them)."""
        if log_to is not None:
            with log_to.open("a", encoding="utf-8") as out:
                out.write(self.compose("logs", "--no-color", "--timestamps", check=False))
        self.compose("down", *args, check=False)


def _post_session(user_id: str) -> httpx.Response:
    return httpx.post(
        f"{API_URL}/api/voice/session",
        json={"user_id": user_id, "agent_id": "pm-agent"},
        timeout=15,
    )


def create_session(user_id: str) -> dict[str, Any]:
    """The README's curl: POST /api/voice/session; the 201 body."""
    response = _post_session(user_id)
    assert response.status_code == 201, response.text
    return response.json()


def create_session_once_served(user_id: str, within: float = 60) -> dict[str, Any]:
    """Create a session as soon as the API can: while livekit-server is coming back it answers
    503 livekit_unavailable (measured: about 5 s after a crash), nothing else."""

    def created() -> dict[str, Any] | None:
        response = _post_session(user_id)
        if response.status_code == 503:
            assert response.json()["error"]["code"] == "livekit_unavailable", response.text
            return None
        assert response.status_code == 201, response.text
        return response.json()

    return wait_until(created, within, "a session created")


def get_session(session_id: str) -> dict[str, Any]:
    response = httpx.get(f"{API_URL}/api/voice/session/{session_id}", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def end_session(session_id: str) -> None:
    """DELETE the session: its room closes and its agent leaves. Tests end the sessions nobody
    joins, which would otherwise hold a worker slot until USER_JOIN_TIMEOUT_SECONDS (and be
    dispatched again when livekit-server restarts, since rooms live in Redis)."""

    def deleted() -> bool:
        # Seen once right after a livekit-server crash: DeleteRoom answered 503 for a moment.
        response = httpx.delete(f"{API_URL}/api/voice/session/{session_id}", timeout=10)
        assert response.status_code in (200, 503), response.text
        return response.status_code == 200

    wait_until(deleted, 30, f"DELETE of session {session_id}")


def wait_agent_joined(session_id: str, within: float = 60) -> dict[str, Any]:
    """The session record once an agent participant has joined its room."""

    def joined() -> dict[str, Any] | None:
        state = get_session(session_id)
        agents = [p for p in state["participants"] if p["kind"] == "agent"]
        return state if agents else None

    return wait_until(joined, within, f"the agent of session {session_id} joined")
