"""Compose stack: build time, image sizes, time from `up -d` to healthy, and `stop` time.

Runs the compose tests' stack (docker-compose.yml plus tests/compose/docker-compose.test.yml:
speech models from PyPI, the ScriptedLLM fake as the LLM) as its own compose project, on the
ports the README names. Needs the Docker engine and compose plugin (`make setup-docker`) and
those ports free. Writes its section of docs/benchmarks.md and its key of docs/benchmarks.json
with --write (or of `--doc PATH` and its .json); gates nothing.

    python bench/compose_startup.py [--runs 3] [--write] [--doc PATH]   # make bench-compose
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import httpx
from machine import command_line
from measure import machine_busy_seconds as busy_seconds
from report import Output, add_output_arguments, header
from stats import median

from harness.compose import API_URL, FILES, SERVICES, ComposeStack, create_session
from harness.paths import REPO

MARKER = "bench-compose"
POLL_S = 0.2
RUNTIME_BASES = {  # the final stage's base image of each built service
    "session-api": "python:3.11-slim-bookworm",
    "voice-agent-worker": "python:3.11-slim-bookworm",
    "web": "nginxinc/nginx-unprivileged:1.29.3-alpine",
}


def image_size(image: str) -> int:
    done = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{.Size}}", image],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


STANDIN_LABEL = '{{index .Config.Labels "voice-stack.standin-recipe"}}'


def is_standin(image: str) -> bool:
    """Built by tests/compose/standins/build.sh (which labels its images), not pulled."""
    done = subprocess.run(
        ["docker", "image", "inspect", "-f", STANDIN_LABEL, image],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip() not in ("", "<no value>")


def time_to_healthy(stack: ComposeStack) -> dict[str, float]:
    """`up -d` in the background (it waits for each dependency's health before starting the
    services that need it) while `ps` is polled every POLL_S: seconds from the command to each
    service's first healthy sighting, and "all"."""
    files = [arg for path in FILES for arg in ("-f", str(path))]
    start = time.monotonic()
    up = subprocess.Popen(
        ["docker", "compose", "-p", stack.project, *files, "up", "-d"],
        cwd=REPO,
        env=stack.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    healthy: dict[str, float] = {}
    while len(healthy) < len(SERVICES):
        if time.monotonic() - start > 300:
            up.kill()
            raise RuntimeError(f"not healthy within 300 s: {sorted(set(SERVICES) - set(healthy))}")
        for service, rows in stack.states().items():
            if service in SERVICES and service not in healthy:
                if rows and all(r.get("Health") == "healthy" for r in rows):
                    healthy[service] = time.monotonic() - start
        time.sleep(POLL_S)
    if up.wait(timeout=60) != 0:
        raise RuntimeError("docker compose up -d failed")
    healthy["all"] = max(healthy.values())
    return healthy


def measure(runs: int) -> dict:
    stack = ComposeStack(env={**os.environ})
    busy0, wall0, load0 = busy_seconds(), time.monotonic(), os.getloadavg()[0]
    stack.compose("down", "--volumes", "--remove-orphans")
    # Cold: no build cache at all (layers and the package caches of RUN --mount=type=cache).
    images = [f"{stack.project}-{service}" for service in RUNTIME_BASES]
    subprocess.run(["docker", "image", "rm", "-f", *images], capture_output=True)
    subprocess.run(["docker", "builder", "prune", "-af"], capture_output=True, check=True)
    cold = stack.timed("build", timeout=3600)
    warm = stack.timed("build", timeout=600)
    sizes = {
        service: {
            "image_mb": image_size(f"{stack.project}-{service}") / 1e6,
            "above_base_mb": (
                image_size(f"{stack.project}-{service}") - image_size(RUNTIME_BASES[service])
            )
            / 1e6,
            "base": RUNTIME_BASES[service],
            "base_is_standin": is_standin(RUNTIME_BASES[service]),
        }
        for service in RUNTIME_BASES
    }
    starts = []
    busy1, wall1 = busy_seconds(), time.monotonic()
    for _ in range(runs):
        stack.compose("down", "--volumes")
        starts.append(time_to_healthy(stack))
    startup_busy = (busy_seconds() - busy1) / (time.monotonic() - wall1) / (os.cpu_count() or 1)
    create_session("bench")  # the README's curl: a room nobody joins
    stopped = stack.timed("stop", timeout=120)
    exit_codes = {s: rows[0]["ExitCode"] for s, rows in stack.states().items() if s in SERVICES}
    stack.compose("down", "--volumes", "--remove-orphans")
    elapsed = time.monotonic() - wall0
    return {
        "build_cold_s": cold,
        "build_warm_s": warm,
        "images": sizes,
        "up_to_healthy_s": starts,
        "stop_with_open_session_s": stopped,
        "stop_exit_codes": exit_codes,
        "machine_busy_fraction": (busy_seconds() - busy0) / elapsed / (os.cpu_count() or 1),
        "startup_busy_fraction": startup_busy,
        "load_before": load0,
        "load_after": os.getloadavg()[0],
    }


def report(result: dict, command: str) -> str:
    starts = result["up_to_healthy_s"]
    middle = {s: median(run[s] for run in starts) for s in [*SERVICES, "all"]}
    slowest = max(SERVICES, key=lambda s: middle[s])
    busy = result["machine_busy_fraction"]
    standin = any(i["base_is_standin"] for i in result["images"].values())
    lines = [
        "## Compose stack: build, image sizes, start-up, stop",
        "",
        "The compose tests' stack (docker-compose.yml with tests/compose/docker-compose.test.yml:"
        " speech models from PyPI, the ScriptedLLM fake as the LLM), built and started with the"
        " real Docker CLI. These figures gate nothing.",
        "",
        *header(command, tools=["docker"]),
        f"- Load: load average {result['load_before']:.2f} before, {result['load_after']:.2f}"
        f" after; the machine's CPUs were {busy:.0%} busy over the whole run (the build"
        f" included) and {result['startup_busy_fraction']:.0%} during the start-ups"
        + (
            ". Other work was running when it began (load average over half the CPUs): a busy"
            " machine, figures slower than on an idle one."
            if result["load_before"] > (os.cpu_count() or 1) / 2
            else "; the machine was otherwise idle when it began."
        ),
        "",
        f"Build from no cache at all: {result['build_cold_s']:.0f} s (base images present,"
        f" packages from the registries); again with nothing changed: "
        f"{result['build_warm_s']:.1f} s.",
        "",
        "| image | size (MB) | above its base (MB) | base |",
        "|---|---:|---:|---|",
        *(
            f"| {service} | {i['image_mb']:.0f} | {i['above_base_mb']:.0f} | `{i['base']}`"
            f"{' (stand-in)' if i['base_is_standin'] else ''} |"
            for service, i in result["images"].items()
        ),
        "",
        (
            "The bases here are stand-ins built from Debian (no container registry is reachable"
            " on this machine), so total sizes differ from a build on the official images; the"
            " size above the base is the project's own layers."
            if standin
            else "The bases are the official images."
        ),
        "",
        f"Time from `docker compose up -d` to healthy, {len(starts)} runs from `down -v`"
        f" (polled every {POLL_S:g} s):",
        "",
        "| service | median (s) | runs (s) |",
        "|---|---:|---|",
        *(
            f"| {s} | {middle[s]:.1f} | {', '.join(f'{run[s]:.1f}' for run in starts)} |"
            for s in [*SERVICES, "all"]
        ),
        "",
        f"The last service to turn healthy is {slowest} ({middle[slowest]:.1f} s median): each"
        " service starts once the ones it depends on are healthy, and the worker is healthy once"
        " its job processes have loaded their models and it has registered.",
        "",
        f"`docker compose stop` with a session nobody joined (the README's curl): "
        f"{result['stop_with_open_session_s']:.1f} s; exit codes "
        + ", ".join(f"{s} {c}" for s, c in result["stop_exit_codes"].items())
        + (
            " (no SIGKILL)."
            if all(c != 137 for c in result["stop_exit_codes"].values())
            else " (137 = killed)."
        ),
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3, help="start-ups from `down -v` to time")
    add_output_arguments(parser)
    args = parser.parse_args()
    command = command_line()
    try:
        httpx.get(API_URL, timeout=1)
        print(f"something already answers at {API_URL}: stop it first", file=sys.stderr)
        return 2
    except httpx.HTTPError:
        pass
    result = measure(args.runs)
    section = report(result, command)
    print(section)
    out = Output.of(args)
    if out is not None:
        out.write_section(MARKER, section)
        out.write_json("compose", {"command": command, **result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
