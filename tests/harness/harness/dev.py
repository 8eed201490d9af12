"""`make dev`: the whole stack as native processes on the compose ports; Ctrl-C stops it.

Data and logs go to `--run-dir` (`.cache/dev` by default, `DEV_RUN_DIR` in the Makefile), so a
test that runs `make dev` never touches the developer's own data.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from harness.paths import REPO
from harness.processes import StartupError
from harness.stack import Stack, StackPorts

READY_LINE = "devstack: ready"


def start_dev_stack(ports: StackPorts, run_dir: Path, api_key: str, api_secret: str) -> Stack:
    stack = Stack(run_dir, ports.api, api_key, api_secret)
    with stack.stopped_on_error():
        stack.add_redis(ports.redis)
        stack.add_livekit(ports.livekit)
        stack.add_api(
            {
                "LIVEKIT_PUBLIC_URL": f"ws://localhost:{ports.livekit.http}",
                "CORS_ALLOW_ORIGINS": f"http://localhost:{ports.web}",
            }
        )
        stack.add_worker(http_port=ports.worker_http)
        stack.add_web(ports.web)
    return stack


def serve_forever(stack: Stack) -> int:
    """Block until SIGINT/SIGTERM or until a process dies; then stop everything."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    died = None
    while not stop.wait(0.5):
        died = next((p for p in stack.processes() if not p.alive()), None)
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
        stack = start_dev_stack(ports, args.run_dir, api_key, api_secret)
    except StartupError as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 1
    api_url = stack.api.url
    print(
        f"{READY_LINE}\n  web          http://localhost:{ports.web}\n"
        f"  session-api  {api_url}  (readyz: {api_url}/readyz)\n"
        f"  livekit      ws://localhost:{ports.livekit.http}\n"
        f"  logs         {stack.logs}\nCtrl-C stops everything.",
        flush=True,
    )
    return serve_forever(stack)


if __name__ == "__main__":
    sys.exit(main())
