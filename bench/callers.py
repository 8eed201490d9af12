"""Some of a capacity level's callers, in a process of their own, and how the capacity benchmark
starts such a process and reads its answer (one JSON line: the turns and the failures).

The rtc SDK hands every event of a process to every audio stream of that process, so the cost of
many callers in one process grows faster than linearly: the benchmark spreads them over several.

    python bench/callers.py --api URL --indices 0,4 --concurrency 8 --turns 3 --cycle 7 \\
        --arrival 0.5 --frame-ms 40 --start-at <unix time>
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from conversation import WAIT, TurnResult, converse

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Shape:
    """How a level's callers are spread: who starts when, and for how long."""

    concurrency: int  # callers in the level, all processes together
    turns: int
    cycle: float  # seconds over which the callers' first turns are spread
    arrival: float  # seconds between two callers' arrivals
    frame_ms: int
    start_at: float  # unix time at which every caller process begins


async def caller_process(api_url: str, indices: list[int], shape: Shape) -> dict[str, Any]:
    """Run this program for these caller indices; its JSON result, or failures for all of them
    when it times out or exits without one."""
    cmd = [sys.executable, str(HERE / "callers.py"), "--api", api_url]
    cmd += ["--indices", ",".join(map(str, indices))]
    for name, value in asdict(shape).items():
        cmd += [f"--{name.replace('_', '-')}", str(value)]
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    bound = (
        max(0.0, shape.start_at - time.time())
        + shape.arrival * shape.concurrency
        + shape.cycle
        + shape.turns * 3 * WAIT
    )
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), bound)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return {"turns": [], "failures": [f"caller process {indices} timed out"] * len(indices)}
    lines = stdout.decode().strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = stderr.decode(errors="replace")[-500:]
        failure = f"caller process {indices} exited {proc.returncode}: {tail}"
        return {"turns": [], "failures": [failure] * len(indices)}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


async def call(api_url: str, indices: list[int], shape: Shape) -> dict[str, Any]:
    """These callers' conversations, started together at `shape.start_at`."""
    await asyncio.sleep(max(0.0, shape.start_at - time.time()))

    async def one(index: int) -> list[TurnResult]:
        return await converse(
            api_url,
            f"bench-capacity-{shape.concurrency}-{index}-{secrets.token_hex(2)}",
            shape.turns,
            concurrency=shape.concurrency,
            connect_delay=shape.arrival * index,
            start_delay=shape.cycle * index / shape.concurrency,
            frame_ms=shape.frame_ms,
        )

    gathered = await asyncio.gather(*(one(i) for i in indices), return_exceptions=True)
    return {
        "turns": [asdict(t) for r in gathered if isinstance(r, list) for t in r],
        "failures": [repr(r) for r in gathered if isinstance(r, BaseException)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", required=True)
    parser.add_argument("--indices", required=True)
    for name, kind in (
        ("concurrency", int),
        ("turns", int),
        ("cycle", float),
        ("arrival", float),
        ("frame-ms", int),
        ("start-at", float),
    ):
        parser.add_argument(f"--{name}", type=kind, required=True)
    args = parser.parse_args()
    shape = Shape(args.concurrency, args.turns, args.cycle, args.arrival, args.frame_ms,
                  args.start_at)  # fmt: skip
    indices = [int(i) for i in args.indices.split(",")]
    print(json.dumps(asyncio.run(call(args.api, indices, shape))), flush=True)


if __name__ == "__main__":
    main()
