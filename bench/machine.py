"""What a figure was measured on: the machine, the versions, the command. One definition for
every benchmark's header."""

from __future__ import annotations

import importlib.metadata
import platform
import re
import shlex
import subprocess
import sys
from pathlib import Path

import psutil
from stack import REPO, find_binary


def machine() -> str:
    """CPUs, their model, memory and kernel."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    memory = psutil.virtual_memory().total / 1024**3
    return (
        f"{cores()} CPUs (nproc), {model[1] if model else platform.processor() or 'unknown CPU'}, "
        f"{memory:.1f} GiB RAM, Linux {platform.release()}"
    )


def cores() -> int:
    """The CPUs this program may run on (what `nproc` says)."""
    return len(psutil.Process().cpu_affinity() or []) or psutil.cpu_count() or 1


def tool_version(binary: str, *args: str) -> str:
    """The first dotted version number a program prints about itself, or "?"."""
    path = find_binary(binary) or binary
    try:
        done = subprocess.run([path, *args], capture_output=True, text=True, timeout=30)
    except OSError:
        return "?"
    found = re.search(r"(\d+\.\d+(?:\.\d+)?)", done.stdout + done.stderr)
    return found.group(1) if found else "?"


TOOL_ARGS = {  # how each program states its version (docker: the engine's, not the CLI's)
    "wrk": ("-v",),
    "docker": ("version", "-f", "{{.Server.Version}}"),
}


def versions(packages: list[str], tools: list[str]) -> str:
    """ "tool x.y.z, ..., package x.y.z, ..., Python x.y.z"; packages not installed are left out."""
    parts = [f"{tool} {tool_version(tool, *TOOL_ARGS.get(tool, ('--version',)))}" for tool in tools]
    for name in packages:
        try:
            parts.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    parts.append(f"Python {platform.python_version()}")
    return ", ".join(parts)


def command_line() -> str:
    """This program's command line as the reader would type it from the repository."""
    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(REPO) if script.is_relative_to(REPO) else script
    return shlex.join(["python", str(shown), *sys.argv[1:]])
