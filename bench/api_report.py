"""The "Session API load" section: tables of the runs and sentences built from their figures;
and the `api` key of docs/benchmarks.json (`figures`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from api_profile import Profile
from machine import cores
from report import header, table, verdict
from stats import Timing
from wrk import OTHERS, TIMEOUT_S, LoadResult

MARKER = "bench-api"
TARGET_RATE, TARGET_P99_MS = 500.0, 50.0
BUSY_MACHINE_PERCENT = 10.0  # other processes above this share of a core disturb the figures
PACKAGES = ("uvicorn", "fastapi", "redis")
TOOLS = ("livekit-server", "redis-server", "wrk")


@dataclass
class Report:
    command: str
    requests: int
    concurrency: int
    limit_s: float
    warmup: int
    samples: int
    runs: dict[int, LoadResult]  # by uvicorn worker count
    profile: Profile
    api_settings: dict[str, str]  # session-api settings this benchmark sets (rate limits aside)


def intro(warmup: int) -> str:
    return (
        "`POST /api/voice/session` (LiveKit CreateRoom with the agent dispatch, Redis MULTI"
        " write, JWT signing; rate limits off) against a fresh redis-server, livekit-server (using"
        " that Redis, as in production) and session-api per worker count, all on this machine."
        " Each new room also makes livekit-server send session-api a signed room_started webhook,"
        " as in production. Closed loop: wrk, one thread, a Lua script (`bench/wrk_post.lua`)"
        f" giving each request a new user id, after {warmup} warm-up requests. wrk was chosen over"
        " an asyncio client because it needs far less CPU per request on a machine whose cores the"
        " API shares (see bench/README.md). Runs leave their rooms open in livekit-server (no"
        " worker joins them), as a real burst would. These figures gate nothing."
    )


def watchdog_line(report: Report) -> str:
    """How the dispatch watchdog was kept out of the figures, and that it was."""
    calls = sum(r.dispatch_calls for r in report.runs.values())
    timeout = report.api_settings.get("AGENT_JOIN_TIMEOUT_SECONDS", "6 (the default)")
    return (
        "- Dispatch watchdog: quiet, as in production with a worker accepting every job. These"
        " sessions name an agent no worker serves, so session-api's watchdog would dispatch every"
        " room again once `AGENT_JOIN_TIMEOUT_SECONDS` has passed (ListDispatch, CreateDispatch),"
        f" traffic production does not have; here `AGENT_JOIN_TIMEOUT_SECONDS={timeout}`, longer"
        " than a stack lives, so none falls due. The watchdog still runs and each session is still"
        " registered as awaiting its agent, as in production. livekit-server handled"
        f" {calls} ListDispatch/CreateDispatch calls during the measured runs."
    )


def results_table(runs: dict[int, LoadResult]) -> list[str]:
    head = ["uvicorn workers", "requests", "sessions/s", "p50 ms", "p95 ms", "p99 ms"]
    head += ["max ms", "errors", "CreateRoom inside livekit-server p50 / p99 ms"]
    rows = []
    for workers, r in runs.items():
        lk = r.livekit_create_room
        inside = f"{lk.ms(50):.1f} / {lk.ms(99):.1f}" if lk and lk.samples else "n/a"
        rows.append(
            [str(workers), str(r.requests), f"{r.rate:.0f}"]
            + [f"{v:.1f}" for v in (r.p50_ms, r.p95_ms, r.p99_ms, r.max_ms)]
            + [str(r.errors), inside]
        )
    return table(head, rows)


def cpu_table(runs: dict[int, LoadResult]) -> list[str]:
    names = list(next(iter(runs.values())).cpu_seconds)
    rows = [
        [
            str(w),
            *(f"{r.cpu_percent[n]:.0f}%" for n in names),
            f"{sum(r.cpu_percent.values()):.0f}%",
        ]
        for w, r in runs.items()
    ]
    return table(["uvicorn workers", *names, "all"], rows)


def cpu_per_session_table(runs: dict[int, LoadResult]) -> list[str]:
    names = [n for n in next(iter(runs.values())).cpu_seconds if n != OTHERS]
    rows = []
    for w, r in runs.items():
        per_session = [r.cpu_ms_per_session(n) for n in names]
        rows.append(
            [str(w), *(f"{ms:.2f}" for ms in per_session), f"{sum(per_session):.2f}"]
            + [f"{cores() * 1000 / sum(per_session):.0f}"]
        )
    head = ["uvicorn workers", *names, "sum", f"sessions/s {cores()} cores could give"]
    return table(head, rows)


def error_lines(runs: dict[int, LoadResult]) -> list[str]:
    return [
        f"- {w} worker(s): status codes {r.statuses}, socket errors {r.socket_errors}"
        for w, r in runs.items()
        if r.errors
    ]


def ms_row(name: str, *values: float) -> list[str]:
    return [name, *(f"{v:.2f}" for v in values)]


def parts_table(p: Profile) -> list[str]:
    r = p.request_alone
    rows = [ms_row("whole request through session-api", r.p50_ms, r.mean_ms, r.p99_ms)]
    rows += [ms_row(t.name, t.ms(50), t.mean_ms, t.ms(99)) for t in p.parts]
    rest = r.p50_ms - sum(t.ms(50) for t in p.parts)
    rows.append([*ms_row("the rest: HTTP, framework, log line (p50 by difference)", rest), "", ""])
    return table(["one call at a time", "p50 ms", "mean ms", "p99 ms"], rows)


def profile_lines(p: Profile, concurrency: int, samples: int) -> list[str]:
    alone, lk = p.request_alone, p.livekit_alone
    lines = [
        f"On a fresh one-worker stack; other processes used {p.others_percent:.0f}% of a core"
        " meanwhile.",
        "",
        f"A request alone (wrk, 1 connection, {alone.requests} requests), and each of its parts"
        f" alone ({samples} calls through the service's own classes):",
        "",
        *parts_table(p),
        "",
        f"livekit-server alone: CreateRoom with dispatch from an asyncio client (this program) at"
        f" concurrency {concurrency}, {len(lk.samples)} rooms (session-api only gets their"
        f" webhooks): {p.livekit_alone_rate:.0f} rooms/s, p50 {lk.ms(50):.1f} ms, p99"
        f" {lk.ms(99):.1f} ms; livekit-server used {p.livekit_alone_cpu_ms:.2f} ms of CPU per"
        " room.",
        "",
    ]
    if p.under_py_spy is None:
        return [*lines, "py-spy was not installed: no CPU profile of session-api."]
    lines += [
        f"session-api (1 worker) under py-spy during a load run ({p.under_py_spy.requests} "
        f"requests, {p.under_py_spy.rate:.0f} sessions/s while sampled); on-CPU samples by what "
        "the stack was doing:",
        "",
    ]
    rows = [[name, f"{share:.0f}%"] for name, share in p.cpu_shares.items()]
    return lines + table(["where session-api's CPU goes", "share"], rows)


def workers_line(runs: dict[int, LoadResult], best_workers: int) -> str:
    figures = "; ".join(
        f"{w}: {r.rate:.0f} sessions/s, session-api {r.cpu_ms_per_session('session-api'):.2f} ms"
        " of CPU per session"
        for w, r in runs.items()
    )
    more = "" if best_workers == max(runs) else " More workers did not raise the rate here."
    return f"- By worker count: {figures}.{more}"


def best_run(report: Report) -> tuple[int, LoadResult]:
    """The uvicorn worker count with the highest rate, and its run."""
    return max(report.runs.items(), key=lambda item: item[1].rate)


def target_met(run: LoadResult) -> bool:
    return run.rate >= TARGET_RATE and run.p99_ms < TARGET_P99_MS and run.errors == 0


def verdict_lines(report: Report) -> list[str]:
    """The best run against the target, in the run's own figures."""
    workers, best = best_run(report)
    met = target_met(best)
    concurrency, p = report.concurrency, report.profile
    lines = [
        f"Target: at least {TARGET_RATE:.0f} sessions/s with p99 under {TARGET_P99_MS:.0f} ms. "
        f"Best run: {workers} worker(s), {best.rate:.0f} sessions/s, p99 {best.p99_ms:.1f} ms, "
        f"{best.errors} errors: {verdict(met)}.",
        "",
    ]
    if best.rate < TARGET_RATE:
        lines.append(
            f"- Throughput is {100 * best.rate / TARGET_RATE:.0f}% of the target: "
            f"{TARGET_RATE - best.rate:.0f} sessions/s short "
            f"({TARGET_RATE / best.rate:.1f}x needed)."
        )
    if best.p99_ms >= TARGET_P99_MS:
        lines.append(
            f"- p99 is {best.p99_ms / TARGET_P99_MS:.1f}x the bound. In a closed loop the mean "
            f"latency is concurrency / throughput (Little's law): {concurrency} requests in flight"
            f" at {TARGET_RATE:.0f}/s average {1000 * concurrency / TARGET_RATE:.0f} ms, so the"
            f" bound also needs fewer than {TARGET_RATE * TARGET_P99_MS / 1000:.0f} in flight."
        )
    per_session = {n: best.cpu_ms_per_session(n) for n in best.cpu_seconds if n != OTHERS}
    total, budget = sum(per_session.values()), cores() * 1000 / TARGET_RATE
    heaviest = max(per_session, key=per_session.__getitem__)
    lines.append(
        f"- CPU is the budget: {TARGET_RATE:.0f} sessions/s on {cores()} cores leaves "
        f"{budget:.1f} ms of CPU per session for every process together. This run spent "
        f"{total:.2f} ms ("
        + ", ".join(f"{name} {ms:.2f}" for name, ms in per_session.items())
        + f"), {total / budget:.1f}x the budget; the largest share is {heaviest}'s "
        f"({100 * per_session[heaviest] / total:.0f}%)."
    )
    if len(report.runs) > 1:
        lines.append(workers_line(report.runs, workers))
    disturbed = [
        f"{w} worker(s) {r.cpu_percent[OTHERS]:.0f}%"
        for w, r in report.runs.items()
        if r.cpu_percent[OTHERS] > BUSY_MACHINE_PERCENT
    ]
    if p.others_percent > BUSY_MACHINE_PERCENT:
        disturbed.append(f"where the time goes {p.others_percent:.0f}%")
    if disturbed:
        lines.append(
            "- The machine was not quiet; other processes used, in % of a core: "
            + ", ".join(disturbed)
            + ". Rates and latencies there are worse than a quiet machine would give (CPU per"
            " session much less so)."
        )
    lk = best.livekit_create_room
    if lk and lk.samples:
        lines.append(
            f"- Under that load, livekit-server itself took p50 {lk.ms(50):.1f} ms / p99 "
            f"{lk.ms(99):.1f} ms to handle CreateRoom, of the request's p50 {best.p50_ms:.1f} ms /"
            f" p99 {best.p99_ms:.1f} ms."
        )
    biggest, alone_p50 = max(p.parts, key=lambda t: t.ms(50)), p.request_alone.p50_ms
    lines.append(
        f"- Alone, a request takes p50 {alone_p50:.1f} ms, of which {biggest.name} "
        f"{biggest.ms(50):.1f} ms ({100 * biggest.ms(50) / alone_p50:.0f}%)."
    )
    lines.append(
        f"- livekit-server alone (CreateRoom from this program, concurrency {concurrency}) made "
        f"{p.livekit_alone_rate:.0f} rooms/s, "
        + ("at or above" if p.livekit_alone_rate >= TARGET_RATE else "below")
        + f" the target rate without session-api in the path, at {p.livekit_alone_cpu_ms:.2f} ms"
        " of its own CPU per room."
    )
    if p.cpu_shares:
        top = list(p.cpu_shares.items())[:3]
        lines.append(
            "- session-api's own CPU (py-spy) goes first to: "
            + "; ".join(f"{name} {share:.0f}%" for name, share in top)
            + "."
        )
    return lines


def markdown(report: Report) -> str:
    lines = [
        "## Session API load",
        "",
        intro(report.warmup),
        "",
        *header(report.command, PACKAGES, TOOLS),
        f"- Load: {report.requests} requests per run, {report.concurrency} connections, at most "
        f"{report.limit_s:.0f} s per run",
        "- session-api settings set by the benchmark: "
        + ", ".join(f"`{k}={v}`" for k, v in report.api_settings.items())
        + " (and the rate limits off)",
        watchdog_line(report),
        "",
        *results_table(report.runs),
        "",
        f"An error is any status other than 201, a socket error, or no answer in {TIMEOUT_S} s."
        ' "Inside livekit-server" is the CreateRoom duration the server logs for its own handling.',
        *error_lines(report.runs),
        "",
        "CPU used during each run, % of one core (user + system time of each process tree, from"
        " psutil; other processes is the rest of the machine's busy time):",
        "",
        *cpu_table(report.runs),
        "",
        "CPU time per session, ms (the same figures divided by the requests served), and the rate"
        f" all {cores()} cores could sustain at that cost if nothing else ran:",
        "",
        *cpu_per_session_table(report.runs),
        "",
        "### Where the time goes",
        "",
        *profile_lines(report.profile, report.concurrency, report.samples),
        "",
        "### Against the target",
        "",
        *verdict_lines(report),
    ]
    return "\n".join(lines) + "\n"


# --- docs/benchmarks.json ---------------------------------------------------------------------


def _ms(value: float) -> float | None:
    return round(value, 2) if value == value else None  # NaN: not measured


def _timing(t: Timing | None, *percentiles: float) -> dict[str, float | None] | None:
    if t is None or not t.samples:
        return None
    return {f"p{q:g}": _ms(t.ms(q)) for q in percentiles}


def run_figures(r: LoadResult) -> dict[str, Any]:
    return {
        "requests": r.requests,
        "seconds": round(r.seconds, 2),
        "sessions_per_s": round(r.rate, 1),
        "latency_ms": {
            "mean": _ms(r.mean_ms),
            "p50": _ms(r.p50_ms),
            "p95": _ms(r.p95_ms),
            "p99": _ms(r.p99_ms),
            "max": _ms(r.max_ms),
        },
        "errors": r.errors,
        "statuses": r.statuses,
        "socket_errors": r.socket_errors,
        "cpu_percent_of_a_core": {n: round(v, 1) for n, v in r.cpu_percent.items()},
        "cpu_ms_per_session": {
            n: round(r.cpu_ms_per_session(n), 3) for n in r.cpu_seconds if n != OTHERS
        },
        "livekit_create_room_ms": _timing(r.livekit_create_room, 50, 99),
        "dispatch_calls": r.dispatch_calls,
        "busy_machine": r.cpu_percent.get(OTHERS, 0.0) > BUSY_MACHINE_PERCENT,
    }


def figures(report: Report) -> dict[str, Any]:
    """What docs/benchmarks.json keeps of the runs (milliseconds, % of one core)."""
    workers, best = best_run(report)
    p = report.profile
    return {
        "command": report.command,
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "cores": cores(),
        "load": {
            "requests": report.requests,
            "concurrency": report.concurrency,
            "time_cap_s": report.limit_s,
            "warmup_requests": report.warmup,
        },
        "session_api_settings": report.api_settings,
        "dispatch_watchdog": "quiet: join timeout longer than the stack lives",
        "runs": {str(w): run_figures(r) for w, r in report.runs.items()},
        "best": {
            "uvicorn_workers": workers,
            "sessions_per_s": round(best.rate, 1),
            "p99_ms": _ms(best.p99_ms),
            "errors": best.errors,
        },
        "target": {"sessions_per_s": TARGET_RATE, "p99_ms": TARGET_P99_MS, "met": target_met(best)},
        "profile": {
            "request_alone_ms": {
                "p50": _ms(p.request_alone.p50_ms),
                "p99": _ms(p.request_alone.p99_ms),
            },
            "parts_ms": {t.name: _timing(t, 50, 99) for t in p.parts},
            "livekit_alone_rooms_per_s": round(p.livekit_alone_rate, 1),
            "livekit_alone_cpu_ms_per_room": round(p.livekit_alone_cpu_ms, 3),
            "session_api_cpu_shares_percent": {n: round(v, 1) for n, v in p.cpu_shares.items()},
            "other_processes_percent_of_a_core": round(p.others_percent, 1),
        },
    }
