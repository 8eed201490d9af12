"""The worker's health check: `python -m voice_agent.health` exits 0 once the worker is ready.

Ready means registered with livekit-server, so that a session created now gets its agent.
LiveKit's own health endpoint (GET / on WORKER_HTTP_PORT) is not enough on its own: it answers
200 from the start, seconds before registration (the job processes prewarm first), and only
turns 503 once connecting has failed for good. So the worker also leaves a marker file when it
registers (`mark_registered`), removed at start, and the check wants both.
"""

import os
import sys
import tempfile
import urllib.request
from pathlib import Path

DEFAULT_PORT = 8081


def registered_marker(port: int) -> Path:
    """The marker of the worker whose health endpoint is on `port` (one per worker process)."""
    return Path(tempfile.gettempdir()) / f"voice-agent-{port}.registered"


def clear_registered(port: int) -> None:
    registered_marker(port).unlink(missing_ok=True)


def mark_registered(port: int, worker_id: str) -> None:
    registered_marker(port).write_text(worker_id, encoding="utf-8")


def check(port: int) -> str | None:
    """None when healthy, else what is wrong."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=3):  # noqa: S310
            pass
    except OSError as exc:  # refused, timed out, or 503 (HTTPError)
        return f"health endpoint on port {port}: {exc}"
    if not registered_marker(port).exists():
        return "not registered with livekit-server yet"
    return None


def main() -> int:
    problem = check(int(os.environ.get("WORKER_HTTP_PORT", DEFAULT_PORT)))
    if problem:
        print(f"voice-agent-worker unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
