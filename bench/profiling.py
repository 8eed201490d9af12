"""CPU profiles of the stack's Python processes with py-spy: where a process's CPU goes, by
category of Python stack. py-spy is optional: `scripts/setup.sh bench` installs it as a uv tool
(not a project dependency).

py-spy samples from outside (`--nonblocking`: the process is never paused) and writes one line
per distinct stack (`--format raw`: frames joined by ";", then a count). Threads that run no
Python (WebRTC's, the rtc SDK's runtime, ONNX Runtime's pools) are never in its samples.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.paths import REPO

RATE_HZ = 100
INSTALL = "scripts/setup.sh bench, or uv tool install py-spy"

Rules = list[tuple[str, tuple[str, ...]]]  # a category and the markers of its stacks


def find_py_spy() -> str | None:
    """On PATH, in the venv, or where `uv tool install` puts it."""
    places = [REPO / ".venv" / "bin", Path.home() / ".local" / "bin"]
    return shutil.which("py-spy") or shutil.which("py-spy", path=":".join(map(str, places)))


@contextmanager
def recording(
    py_spy: str, pid: int, raw_file: Path, *, subprocesses: bool = False, limit_s: int = 3600
) -> Iterator[Path]:
    """py-spy samples `pid` (and its children with `subprocesses`) while the block runs; its raw
    output is in `raw_file` once the block has ended."""
    cmd = [py_spy, "record", f"--pid={pid}", f"--rate={RATE_HZ}", "--nonblocking"]
    cmd += ["--format=raw", f"--duration={limit_s}", f"--output={raw_file}"]
    if subprocesses:
        cmd.append("--subprocesses")
    with raw_file.with_suffix(".log").open("wb") as log:
        spy = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield raw_file
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
        spy.wait(30)


def first_rule(rules: Rules, fallback: str) -> Callable[[str], str]:
    """A stack's category: the first rule one of whose markers the stack contains."""

    def classify(stack: str) -> str:
        for name, markers in rules:
            if any(marker in stack for marker in markers):
                return name
        return fallback

    return classify


def samples(raw_file: Path, classify: Callable[[str], str | None]) -> Counter[str]:
    """py-spy's samples per category; a stack `classify` gives None for is left out."""
    counts: Counter[str] = Counter()
    if not raw_file.exists():
        return counts
    for line in raw_file.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit() and (name := classify(stack)) is not None:
            counts[name] += int(n)
    return counts


def shares(counts: Counter[str]) -> dict[str, float]:
    """Share (%) of the samples per category, largest first."""
    total = sum(counts.values())
    return {name: 100 * n / total for name, n in counts.most_common()} if total else {}
