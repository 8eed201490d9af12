"""Load benchmark of `POST /api/voice/session`: sessions per second and latency under load.

For each uvicorn worker count it starts a fresh stack on free loopback ports in a temporary
directory (`stack.py`: redis-server; livekit-server using that Redis, as in production;
session-api with rate limits off and a random 40-character API secret), warms it up, then runs a
closed loop of N requests at concurrency C with wrk (`wrk.py`, `wrk_post.lua`), capped in time. It
records throughput, latency percentiles, status codes, the CPU each process used and
livekit-server's own CreateRoom times (from its log). A last one-worker stack shows where the time
goes (`api_profile.py`). The section is written by `api_report.py`.

The sessions name an agent no worker serves. So that session-api's dispatch watchdog does not
dispatch their rooms again after `AGENT_JOIN_TIMEOUT_SECONDS` (ListDispatch and CreateDispatch
calls production, whose worker accepts the job, does not make), session-api runs with that
timeout longer than any stack lives (`API_SETTINGS`): the watchdog runs and every session is
registered as awaiting its agent, as in production, but none falls due. The report counts the
dispatch calls livekit-server handled during the runs.

    python bench/api_load.py [--requests N] [--concurrency C] [--duration-limit S]
                             [--workers 1,2] [--warmup N] [--quick] [--write] [--doc PATH]

`--write` replaces the "Session API load" section of docs/benchmarks.md and the `api` key of
docs/benchmarks.json (or of `--doc`). Needs redis-server and livekit-server (`make setup`) and
wrk (`apt-get install wrk`); py-spy (`uv tool install py-spy`) is optional. Every process is
stopped by its pid. Nothing here gates CI.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from api_profile import Load, where_time_goes
from api_report import MARKER, Report, figures, markdown
from machine import command_line
from report import Output, add_output_arguments
from stack import BenchStack, start_stack
from wrk import LoadResult, measured_load, run_wrk, wait_idle

T = TypeVar("T")
QUICK = {"requests": 300, "warmup": 50, "workers": "1", "duration_limit": 20.0, "samples": 50}
API_SETTINGS = {
    "LOG_LEVEL": "info",  # a request's log line is part of what it costs in production
    "AGENT_JOIN_TIMEOUT_SECONDS": "86400",  # the dispatch watchdog: nothing due while measured
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests per run")
    parser.add_argument("--concurrency", type=int, default=32, help="connections in flight")
    parser.add_argument(
        "--duration-limit", type=float, default=60.0, help="time cap of each run, seconds"
    )
    parser.add_argument("--workers", default="1,2", help="uvicorn worker counts, comma-separated")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up requests per stack")
    parser.add_argument("--samples", type=int, default=300, help="calls per part timed alone")
    add_output_arguments(parser, QUICK)
    args = parser.parse_args()
    args.workers = [int(w) for w in args.workers.split(",")]
    return args


def with_stack(
    workers: int, run_dir: Path, warmup: int, load: Load, task: Callable[[BenchStack], T]
) -> T:
    """Start a fresh stack, warm it up, run `task` on it, then stop every process by pid."""
    print(f"stack: redis-server, livekit-server, session-api with {workers} worker(s)", flush=True)
    stack = start_stack(run_dir, api_workers=workers, api_overrides=API_SETTINGS)
    try:
        run_wrk(stack.api_url, warmup, load.concurrency, load.limit_s)
        wait_idle(stack)
        return task(stack)
    finally:
        stack.stop()


def print_run(workers: int, r: LoadResult) -> None:
    cpu = ", ".join(f"{name} {share:.0f}%" for name, share in r.cpu_percent.items())
    print(
        f"  {workers} worker(s): {r.requests} requests in {r.seconds:.1f} s = {r.rate:.0f} "
        f"sessions/s; p50 {r.p50_ms:.1f} ms, p95 {r.p95_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, "
        f"max {r.max_ms:.1f} ms; errors {r.errors} (statuses {r.statuses}, "
        f"socket {r.socket_errors})\n  CPU, % of one core: {cpu}",
        flush=True,
    )


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install wrk", file=sys.stderr)
        return 1
    load = Load(args.requests, args.concurrency, args.duration_limit, args.samples)
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        work = Path(tmp)

        def measure(stack: BenchStack) -> LoadResult:
            return measured_load(stack, load.requests, load.concurrency, load.limit_s)

        runs = {}
        for workers in args.workers:
            runs[workers] = with_stack(workers, work / f"w{workers}", args.warmup, load, measure)
            print_run(workers, runs[workers])
        profile = with_stack(
            1, work / "profile", args.warmup, load, lambda s: where_time_goes(s, load, work)
        )
    report = Report(
        command_line(),
        load.requests,
        load.concurrency,
        load.limit_s,
        args.warmup,
        load.samples,
        runs,
        profile,
        API_SETTINGS,
    )
    section = markdown(report)
    print(section)
    out = Output.of(args)
    if out is not None:
        out.write_section(MARKER, section)
        out.write_json("api", figures(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
