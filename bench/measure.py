"""Process CPU and memory, through psutil: the one meter every benchmark uses.

CPU of a process tree is each live process's own time (user + system) plus the time of the
children it has reaped. So a job process that starts and ends between two readings still counts
(its parent reaps it), and two readings, before and after, are enough: no sampling loop.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import psutil

BUSY_CORES = 0.25  # other work on the machine beyond this marks a run as taken on a busy machine


def tree(pid: int) -> list[psutil.Process]:
    """`pid` and all its descendants (empty once it has ended)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _cpu(proc: psutil.Process, reaped: bool) -> float:
    try:
        t = proc.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    own = t.user + t.system
    return own + t.children_user + t.children_system if reaped else own


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by the tree under `pid`, ended and reaped processes included."""
    return sum(_cpu(proc, reaped=True) for proc in tree(pid))


def reaped_children_seconds() -> float:
    """CPU seconds of this program's children that ended and were waited for (wrk, the caller
    processes): what a load generator run as a child cost."""
    t = psutil.Process().cpu_times()
    return t.children_user + t.children_system


def this_program() -> Callable[[], float]:
    """A reader of everything this program has caused: itself, the stack it started, and its
    ended children."""
    return partial(tree_cpu_seconds, os.getpid())


def of_tree(pid: int) -> Callable[[], float]:
    return partial(tree_cpu_seconds, pid)


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (not idle, not waiting for I/O)."""
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + t.irq + t.softirq + t.steal


def rss_bytes(procs: list[psutil.Process]) -> int:
    """Resident memory of these processes, summed (shared pages counted in each)."""
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def pss_bytes(procs: list[psutil.Process]) -> int:
    """Proportional set size, summed: shared pages split between their users, so the memory the
    processes really cost together."""
    total = 0
    for proc in procs:
        try:
            total += proc.memory_full_info().pss
        except psutil.NoSuchProcess:
            continue
    return total


@dataclass
class TreeState:
    """A process tree once it held still, or as it was when the wait ran out."""

    procs: list[psutil.Process]
    rss: int
    waited: float  # seconds
    settled: bool


async def tree_settled(
    pid: int, most: int | None = None, limit_s: float = 60.0, step_s: float = 1.0
) -> TreeState:
    """Wait until the tree under `pid` has at most `most` processes (any number with None) and
    holds still over one `step_s`: the same processes, RSS within 1%. So a job process that has
    ended is gone, and one started in its place has loaded its models. At most `limit_s`."""
    began = time.monotonic()
    procs = tree(pid)
    rss = rss_bytes(procs)
    while True:
        await asyncio.sleep(step_s)
        now = tree(pid)
        now_rss = rss_bytes(now)
        waited = time.monotonic() - began
        same = {p.pid for p in now} == {p.pid for p in procs}
        still = same and abs(now_rss - rss) <= 0.01 * rss and (most is None or len(now) <= most)
        if still or waited > limit_s:
            return TreeState(now, now_rss, waited, still)
        procs, rss = now, now_rss


@dataclass
class CpuUse:
    """CPU seconds per group and of the whole machine over `wall` seconds."""

    wall: float
    seconds: dict[str, float]
    machine: float

    def cores(self, name: str) -> float:
        """Group `name` in cores (1.00 = one core busy all along)."""
        return self.seconds[name] / self.wall

    @property
    def machine_cores(self) -> float:
        return self.machine / self.wall

    @property
    def others_cores(self) -> float:
        """The machine's busy time beyond the groups (which must not overlap): other work."""
        return max(0.0, self.machine - sum(self.seconds.values())) / self.wall


class CpuMeter:
    """CPU used between creation and `stop()` by named groups, each read by a function giving
    cumulative seconds (`of_tree(pid)`, `this_program()`, `reaped_children_seconds`)."""

    def __init__(self, groups: dict[str, Callable[[], float]]) -> None:
        self.groups = groups
        self.began = time.monotonic()
        self.machine = machine_busy_seconds()
        self.start = {name: read() for name, read in groups.items()}

    def stop(self) -> CpuUse:
        seconds = {name: read() - self.start[name] for name, read in self.groups.items()}
        wall = max(time.monotonic() - self.began, 1e-6)
        return CpuUse(wall, seconds, machine_busy_seconds() - self.machine)
