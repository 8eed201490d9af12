"""Child processes of the harness: started with a fresh log, ready when a probe says so, stopped
by their process id (never by name)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.paths import INSTALL_HINTS, REPO, find_binary


class StartupError(RuntimeError):
    """A process exited or did not become ready; the message carries the end of its log."""


def require(name: str) -> str:
    """The binary's path, or StartupError saying how to install it."""
    path = find_binary(name)
    if path is None:
        raise StartupError(f"{name} not found; {INSTALL_HINTS[name]}")
    return path


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


def refusal(module_args: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run `python -m <module_args>` with only `env` (and a PATH), which must refuse to start:
    exit code 2 and exactly one line on stderr, no traceback. Returns that line."""
    result = subprocess.run(  # noqa: S603 - our own modules
        [sys.executable, "-m", *module_args],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    return lines[0]
