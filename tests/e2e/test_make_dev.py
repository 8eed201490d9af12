"""`make dev` starts every service natively; they answer; one signal stops them all."""

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.dev import READY_LINE
from harness.infra import require_binary
from harness.paths import REPO
from harness.processes import free_port, http_get


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def dev_ports() -> dict[str, int]:
    names = ("REDIS", "LIVEKIT", "LIVEKIT_TCP", "API", "WORKER", "WEB")
    ports = {name: free_port() for name in names}
    ports["LIVEKIT_UDP"] = free_port(socket.SOCK_DGRAM)
    return ports


@pytest.fixture
def make_dev(dev_ports: dict[str, int], tmp_path: Path) -> Iterator[tuple[subprocess.Popen, Path]]:
    for name in ("redis-server", "livekit-server", "nginx"):
        require_binary(name)
    log = tmp_path / "make-dev.log"
    env = {**os.environ, **{f"DEV_{k}_PORT": str(v) for k, v in dev_ports.items()}}
    # The developer's own .cache/dev (data and logs) is never touched by the tests.
    env["DEV_RUN_DIR"] = str(tmp_path / "dev")
    with log.open("wb") as out:
        # Its own process group, so that one signal to the group reaches make and devstack.
        proc = subprocess.Popen(
            ["make", "--no-print-directory", "dev"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    yield proc, log
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def wait_for_line(proc: subprocess.Popen, log: Path, line: str, timeout: float = 240) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if line in text:
            return text
        assert proc.poll() is None, f"make dev exited ({proc.returncode}):\n{text[-3000:]}"
        time.sleep(0.1)
    pytest.fail(f"make dev did not print {line!r}:\n{log.read_text()[-3000:]}")


def test_make_dev_serves_the_stack_and_stops_cleanly(make_dev, dev_ports, tmp_path):
    proc, log = make_dev
    printed = wait_for_line(proc, log, READY_LINE)
    # Its data and logs went where the test pointed DEV_RUN_DIR, not to the developer's own.
    assert f"logs         {tmp_path / 'dev' / 'logs'}" in printed
    assert (tmp_path / "dev" / "redis" / "appendonlydir").is_dir()

    api = f"http://127.0.0.1:{dev_ports['API']}"
    web = f"http://127.0.0.1:{dev_ports['WEB']}"
    status, body = http_get(f"{api}/readyz")
    assert status == 200, body
    assert http_get(f"http://127.0.0.1:{dev_ports['WORKER']}/")[0] == 200
    page_status, page = http_get(f"{web}/")
    assert page_status == 200 and "<title>" in page

    # The web server proxies /api to session-api, as nginx does in compose.
    created = httpx.post(f"{web}/api/voice/session", json={"user_id": "dev-test"}, timeout=10)
    assert created.status_code == 201, created.text
    assert created.json()["livekit_url"] == f"ws://localhost:{dev_ports['LIVEKIT']}"

    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(60) in (0, -signal.SIGTERM, 2)
    assert "devstack: stopped" in log.read_text()
    still_open = [
        name for name, port in dev_ports.items() if name != "LIVEKIT_UDP" and port_open(port)
    ]
    assert still_open == [], f"ports still served after stop: {still_open}"
