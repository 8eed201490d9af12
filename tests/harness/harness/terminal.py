"""A program run in a pseudo-terminal, the way a person runs it in theirs.

Interactive programs behave differently without a terminal: LiveKit's console reads keys in raw
mode from its standard input and redraws a live prompt, which a pipe would not give it. Here the
program gets a pty of a fixed size; what it prints is kept (raw in its log, and as plain text
with the terminal's escape sequences removed), and keys are typed into it. Every wait is on the
program's output, bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from dataclasses import dataclass
from pathlib import Path

from harness.paths import REPO
from harness.processes import ManagedProcess

# CSI sequences (colours, cursor moves, erase), OSC sequences (titles), and two-byte escapes.
ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
ENTER = "\r"  # what the Enter key sends; the terminal turns it into "\n" for the program


def plain(raw: str) -> str:
    """What a person reads: escape sequences removed, carriage returns as line ends."""
    return ESCAPES.sub("", raw).replace("\r\n", "\n").replace("\r", "\n")


def squeezed(text: str) -> str:
    """`text` with every run of whitespace as one space: a line the terminal wrapped (and
    indented) still reads as the sentence it was."""
    return " ".join(text.split())


@dataclass
class Terminal(ManagedProcess):
    """A process whose standard input, output and error are one pseudo-terminal."""

    master_fd: int = -1
    raw: str = ""

    @property
    def text(self) -> str:
        """Everything printed so far, as plain text."""
        return plain(self.raw)

    def type(self, keys: str) -> None:
        """Type `keys` (`ENTER` for the Enter key)."""
        os.write(self.master_fd, keys.encode())

    def read_more(self, timeout: float) -> bool:
        """Wait up to `timeout` for output and keep it; False once the program has closed the
        terminal (it exited)."""
        ready, _, _ = select.select([self.master_fd], [], [], max(timeout, 0.0))
        if not ready:
            return True
        try:
            chunk = os.read(self.master_fd, 65536)
        except OSError:  # EIO: no process holds the terminal any more
            return False
        if not chunk:
            return False
        decoded = chunk.decode(errors="replace")
        self.raw += decoded
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(decoded)
        return True

    async def wait_for(self, pattern: str, start: int = 0, within: float = 60.0) -> re.Match[str]:
        """The first match of `pattern` (a regular expression) in the plain text from offset
        `start` on, read until it appears (for up to `within` seconds); AssertionError with the
        screen's end if it does not. The reading waits in a thread: the fakes the program talks
        to may share this event loop."""
        deadline = time.monotonic() + within
        while True:
            match = re.compile(pattern).search(self.text, start)
            if match:
                return match
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not await asyncio.to_thread(self.read_more, min(remaining, 1.0)):
                tail = self.text[-3000:]
                state = "exited" if not self.alive() else f"not within {within:.0f}s"
                raise AssertionError(f"{self.name}: {pattern!r} {state}; the screen:\n{tail}")

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM by pid (as the terminal's window closing would), then SIGKILL; the output
        printed until then is kept."""
        code = super().stop(timeout)
        while select.select([self.master_fd], [], [], 0)[0] and self.read_more(0):
            pass
        os.close(self.master_fd)
        return code


def open_terminal(
    name: str,
    cmd: list[str],
    log_dir: Path,
    env: dict[str, str],
    columns: int = 400,
    rows: int = 50,
) -> Terminal:
    """Start `cmd` in a new pty of `columns` x `rows` (wide, so that sentences are seldom
    wrapped), in its own session like a terminal's shell job, with `env` over this process's
    environment and TERM set as in a common terminal emulator."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log_path.write_text("", encoding="utf-8")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    popen = subprocess.Popen(  # noqa: S603 - fixed argument lists
        cmd,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "TERM": "xterm-256color", **env},
        cwd=REPO,
        start_new_session=True,
    )
    os.close(slave)
    return Terminal(name, popen, log_path, master_fd=master)
