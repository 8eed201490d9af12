"""Voice benchmarks: scripted callers (`tests/voice_caller.py`) against the whole stack.

    python bench/voice.py latency  [--modes local,cloud] [--sessions 3] [--turns 11] [--write]
    python bench/voice.py join     [--mode cloud] [--join-sessions 30] [--write]
    python bench/voice.py capacity [--mode cloud] [--levels 1,5,10,20] [--write]
    python bench/voice.py all      [--write]

- latency: voice to voice (the end of the caller's speech to the first agent audio frame it
  receives) per turn, with the stage breakdown the worker stores in the session's transcript
  (end-of-turn delay, STT, LLM time to first token, TTS time to first byte) and what is left:
  inside the worker (its own voice-to-voice minus the stages) and outside it (transport, the
  VAD's end-of-speech judgement, audio buffering), which it splits with two side measurements.
- join: POST /api/voice/session -> agent participant joined (server's joined_at, and as the
  caller saw it) and -> first agent audio at the caller (the greeting), one session at a time.
- capacity: N simultaneous conversations on one worker: voice-to-voice p50/p95, CPU and memory
  (RSS and PSS of the worker's process tree, from /proc) per session.

`--mode local` runs Whisper tiny.en, Piper and the ScriptedLLM with no delay in the worker;
`--mode cloud` the real OpenAI plugins against simulated cloud-class providers (STT 150 ms,
LLM first token 300 ms, TTS first byte 100 ms; see bench/voice_stack.py). Each subcommand
starts its own stack on free loopback ports and stops every process by pid. `--write` replaces
the subcommand's section of docs/benchmarks.md (between its markers) and its plot under
docs/images/. `--worker-env KEY=VALUE` (repeatable) changes a worker setting for the run.
Nothing here gates CI; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import platform
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "scripts"))

import devstack  # noqa: E402
from voice_stack import (  # noqa: E402
    CLK_TCK,
    SIMULATED,
    VoiceStack,
    cpu_seconds,
    process_tree,
    pss_bytes,
    rss_bytes,
    start_voice_stack,
)

from harness.caller import (  # noqa: E402
    FRAME_MS,
    SAMPLE_RATE,
    SILENCE_RMS,
    SpeechSynthesizer,
    VoiceCaller,
    rms,
)
from harness.fakes.voice_script import BENCH_ANSWER, BENCH_QUESTION  # noqa: E402

DOC = REPO / "docs" / "benchmarks.md"
IMAGES = REPO / "docs" / "images"
WAIT = 30.0  # bound of any one wait for the agent
TARGETS = {
    "overhead_p95_ms": 30.0,
    "cloud_v2v_p50_ms": 600.0,
    "join_p95_ms": 300.0,
    "greeting_p95_ms": 1000.0,
    "capacity_p95_ratio": 1.15,
    "memory_per_session_mb": 150.0,
}
MODE_NAMES = {
    "local": "local CPU models (Whisper tiny.en, Piper, ScriptedLLM with no delay)",
    "cloud": "simulated cloud-class providers (STT 150 ms, LLM first token 300 ms, TTS first "
    "byte 100 ms) behind the real OpenAI plugins",
}


# --- figures ----------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def ms(value: float) -> str:
    return "n/a" if value != value else f"{value * 1000:.0f}"  # NaN-safe


@dataclass
class TurnResult:
    """One turn: what the caller measured and the stages the worker recorded (seconds)."""

    session: str
    measured: float
    worker_v2v: float | None = None
    end_of_turn: float | None = None
    stt: float | None = None
    llm_ttft: float | None = None
    tts_ttfb: float | None = None
    concurrency: int = 1

    @property
    def stages(self) -> float | None:
        parts = (self.end_of_turn, self.llm_ttft, self.tts_ttfb)
        return None if None in parts else sum(p for p in parts if p is not None)

    @property
    def rest(self) -> float | None:
        """Transport and framework: what the stages do not explain."""
        return None if self.stages is None else self.measured - self.stages

    @property
    def inside_worker(self) -> float | None:
        if self.stages is None or self.worker_v2v is None:
            return None
        return self.worker_v2v - self.stages

    @property
    def outside_worker(self) -> float | None:
        return None if self.worker_v2v is None else self.measured - self.worker_v2v


def _wall(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def pair_turns(caller: VoiceCaller, record: dict[str, Any], concurrency: int) -> list[TurnResult]:
    """Each of the caller's turns with the worker's agent entry that answered it (by time)."""
    offset = caller.posted_wall - caller.posted_at  # monotonic -> wall clock, this process
    answers = [
        e
        for e in record["transcript"]
        if e["type"] == "agent" and "voice_to_voice" in e.get("latency", {})
    ]
    results = []
    turns = [t for t in caller.turns if t.voice_to_voice is not None]
    for index, turn in enumerate(turns):
        begin = turn.speech_ended_at + offset
        end = turns[index + 1].started_at + offset if index + 1 < len(turns) else float("inf")
        entry = next((e for e in answers if begin < _wall(e["at"]) < end), None)
        latency = entry["latency"] if entry else {}
        results.append(
            TurnResult(
                session=caller.session_id,
                measured=turn.voice_to_voice or 0.0,
                worker_v2v=latency.get("voice_to_voice"),
                end_of_turn=latency.get("end_of_turn_delay"),
                stt=latency.get("stt_delay"),
                llm_ttft=latency.get("llm_ttft"),
                tts_ttfb=latency.get("tts_ttfb"),
                concurrency=concurrency,
            )
        )
    return results


# --- one conversation -------------------------------------------------------------------------


async def converse(
    stack: VoiceStack,
    user_id: str,
    turns: int,
    *,
    concurrency: int = 1,
    connect_delay: float = 0.0,
    start_delay: float = 0.0,
    keep_audio: bool = False,
    frame_ms: int = FRAME_MS,
) -> list[TurnResult]:
    """One session: greeting, then `turns` times the bench question, each reply heard out."""
    await asyncio.sleep(connect_delay)  # load shaping: arrivals spread in time
    async with VoiceCaller.connect(
        stack.api_url, user_id, keep_audio=keep_audio, frame_ms=frame_ms
    ) as caller:
        await caller.wait_for_greeting(WAIT)
        await asyncio.sleep(start_delay)  # load shaping: spread the turns of many callers
        for _ in range(turns):
            turn = await caller.say(BENCH_QUESTION, within=WAIT)
            await caller.wait_reply_end(turn, WAIT)
        record = await _record_with_answers(caller, turns)
    return pair_turns(caller, record, concurrency)


async def _record_with_answers(caller: VoiceCaller, turns: int) -> dict[str, Any]:
    """The session record once the worker has stored an answer for every turn (bounded)."""
    deadline = time.monotonic() + WAIT
    while True:
        record = await caller.fetch_session()
        answers = [e for e in record["transcript"] if e["type"] == "agent"]
        if len(answers) > turns or time.monotonic() > deadline:
            return record
        await caller.next_change(0.2)


# --- side measurements: what lies outside the worker's clock ----------------------------------


async def transport_one_way(stack: VoiceStack, bursts: int = 30) -> list[float]:
    """One-way audio latency through livekit-server between two rtc participants of this
    process (the SDK the worker uses, the caller's frame size and queue): a 200 ms tone every
    600 ms, from its first captured frame to the first loud frame received after a quiet spell."""
    from livekit import api, rtc

    room_name = f"transport-{secrets.token_hex(4)}"
    key, secret = stack.worker_env["LIVEKIT_API_KEY"], stack.worker_env["LIVEKIT_API_SECRET"]

    def token(identity: str) -> str:
        grants = api.VideoGrants(room_join=True, room=room_name)
        return api.AccessToken(key, secret).with_identity(identity).with_grants(grants).to_jwt()

    sender, receiver = rtc.Room(), rtc.Room()
    heard: list[float] = []
    listening: list[asyncio.Task[None]] = []

    async def listen(track: rtc.Track) -> None:
        """Onsets: a loud frame after at least 100 ms of quiet ones."""
        stream = rtc.AudioStream(
            track, sample_rate=SAMPLE_RATE, num_channels=1, frame_size_ms=FRAME_MS
        )
        quiet = 0
        async for event in stream:
            if rms(event.frame.data) < SILENCE_RMS:
                quiet += 1
                continue
            if quiet * FRAME_MS >= 100:
                heard.append(time.monotonic())
            quiet = 0

    def on_track(track: rtc.Track, *_: Any) -> None:
        listening.append(asyncio.ensure_future(listen(track)))

    receiver.on("track_subscribed", on_track)
    http_url = stack.livekit_url.replace("ws://", "http://", 1)
    async with api.LiveKitAPI(http_url, key, secret) as lkapi:  # rooms are not auto-created
        await lkapi.room.create_room(api.CreateRoomRequest(name=room_name, empty_timeout=60))
    await receiver.connect(stack.livekit_url, token("probe-receiver"))
    await sender.connect(stack.livekit_url, token("probe-sender"))
    source = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=max(FRAME_MS * 2, 20))
    track = rtc.LocalAudioTrack.create_audio_track("probe", source)
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    await sender.local_participant.publish_track(track, options)
    samples = SAMPLE_RATE * FRAME_MS // 1000
    silence = bytes(samples * 2)
    tone = (np.sin(np.arange(samples) / SAMPLE_RATE * 2 * np.pi * 440) * 8000).astype(np.int16)
    loop = asyncio.get_running_loop()
    anchor, sent, starts = loop.time(), 0, []
    period = 60  # frames: 600 ms
    for index in range((bursts + 2) * period):
        phase = index % period
        loud = period // 2 <= phase < period // 2 + 20 and index >= 2 * period
        data = tone.tobytes() if loud else silence
        await source.capture_frame(rtc.AudioFrame(data, SAMPLE_RATE, 1, samples))
        if loud and phase == period // 2:
            starts.append(time.monotonic())
        sent += 1
        await asyncio.sleep(max(0.0, anchor + sent * FRAME_MS / 1000 - loop.time()))
    for task in listening:
        task.cancel()
    await sender.disconnect()
    await receiver.disconnect()
    delays = []
    for start in starts:  # each burst's onset with the first onset heard after it
        after = [t for t in heard if t > start]
        if after and after[0] - start < 0.5:
            delays.append(after[0] - start)
    return delays


async def vad_end_offset(text: str = BENCH_QUESTION) -> float:
    """How much later than the caller's last loud frame the worker's VAD (Silero, the worker's
    settings) places the end of `text`'s speech: the worker's voice-to-voice starts there."""
    from livekit.agents import vad as agents_vad
    from livekit.plugins import silero

    pcm = SpeechSynthesizer.pcm(text)
    size = SAMPLE_RATE * FRAME_MS // 1000 * 2
    pcm += bytes(-len(pcm) % size)
    frames = [pcm[i : i + size] for i in range(0, len(pcm), size)]
    last_loud_end = (max(i for i, f in enumerate(frames) if rms(f) >= SILENCE_RMS) + 1) * 0.01
    stream = silero.VAD.load().stream()
    for frame in [*frames, *[bytes(size)] * 150]:
        stream.push_frame(rtc_frame(frame))
    stream.end_input()
    async for event in stream:
        if event.type == agents_vad.VADEventType.END_OF_SPEECH:
            await stream.aclose()
            return float(event.timestamp - event.silence_duration - last_loud_end)
    return float("nan")


def rtc_frame(pcm: bytes) -> Any:
    from livekit import rtc

    return rtc.AudioFrame(pcm, SAMPLE_RATE, 1, len(pcm) // 2)


def leading_silence(text: str) -> float:
    """Seconds of near-silence before the first loud frame of `text` spoken by Piper (the
    start of every reply's audio, whatever carries it)."""
    pcm = SpeechSynthesizer.pcm(text)
    size = SAMPLE_RATE * FRAME_MS // 1000 * 2
    for index in range(0, len(pcm), size):
        if rms(pcm[index : index + size]) >= SILENCE_RMS:
            return index / size * FRAME_MS / 1000
    return 0.0


# --- the benchmarks ---------------------------------------------------------------------------


def _overrides(args: argparse.Namespace) -> dict[str, str]:
    return dict(item.split("=", 1) for item in args.worker_env)


@dataclass
class LatencyRun:
    mode: str
    turns: list[TurnResult]
    transport: list[float]
    vad_offset: float
    reply_silence: float
    worker_overrides: dict[str, str] = field(default_factory=dict)
    machine_cores: float = 0.0  # CPU the whole machine used during the turns, cores
    own_cores: float = 0.0  # of which this run's processes


async def run_latency(
    mode: str, sessions: int, turns: int, run_dir: Path, overrides: dict[str, str]
) -> LatencyRun:
    stack = start_voice_stack(mode, run_dir, transcript=BENCH_QUESTION, worker_overrides=overrides)
    meter = LoadMeter(stack)
    try:
        results: list[TurnResult] = []
        meter.start()
        for index in range(sessions):
            results += await converse(stack, f"bench-latency-{mode}-{index}", turns)
            print(f"  {mode}: session {index + 1}/{sessions}, {len(results)} turns", flush=True)
        machine_cores, own_cores = meter.stop()
        transport = await transport_one_way(stack)
        _check_worker_log(stack)
    finally:
        stack.stop()
    first_sentence = BENCH_ANSWER.split(". ")[0] + "."
    return LatencyRun(
        mode,
        results,
        transport,
        await vad_end_offset(),
        leading_silence(first_sentence),
        overrides,
        machine_cores,
        own_cores,
    )


@dataclass
class JoinResult:
    join_server: float | None  # POST sent -> the agent's joined_at on the server
    join_seen: float  # POST sent -> the caller saw the agent in the room
    greeting: float  # POST sent -> first agent audio at the caller
    post: float  # POST round trip
    connect: float  # POST answered -> room.connect() returned
    session_id: str = ""
    posted_wall: float = 0.0
    job_started: float | None = None  # POST sent -> the worker's "job started" log line


async def run_join(
    mode: str, sessions: int, run_dir: Path, overrides: dict[str, str]
) -> tuple[list[JoinResult], tuple[float, float]]:
    stack = start_voice_stack(mode, run_dir, transcript=BENCH_QUESTION, worker_overrides=overrides)
    results: list[JoinResult] = []
    meter = LoadMeter(stack)
    meter.start()
    try:
        for index in range(sessions):
            user = f"bench-join-{index}-{secrets.token_hex(3)}"
            async with VoiceCaller.connect(stack.api_url, user, keep_audio=False) as caller:
                await caller.wait_for_agent(WAIT)
                first = await caller.wait_for(partial(first_sound, caller), WAIT, "greeting")
                server = (
                    caller.agent_joined_server_ms / 1000 - caller.posted_wall
                    if caller.agent_joined_server_ms
                    else None
                )
                results.append(
                    JoinResult(
                        join_server=server,
                        join_seen=(caller.agent_joined_at or 0) - caller.posted_at,
                        greeting=first - caller.posted_at,
                        post=caller.created_at - caller.posted_at,
                        connect=caller.connected_at - caller.created_at,
                        session_id=caller.session_id,
                        posted_wall=caller.posted_wall,
                    )
                )
                await caller.wait_quiet(0.3, WAIT)
        load = meter.stop()
        _check_worker_log(stack)
        started = job_start_times(stack.worker_log())
        for result in results:
            if result.session_id in started:
                result.job_started = started[result.session_id] - result.posted_wall
    finally:
        stack.stop()
    return results, load


def first_sound(caller: VoiceCaller) -> float | None:
    """When the caller first heard the agent, if it has."""
    return caller.loud_times[0] if caller.loud_times else None


def job_start_times(log: str) -> dict[str, float]:
    """session id -> wall time of the worker's "job started" line (its JSON timestamp)."""
    found = {}
    for line in log.splitlines():
        if "job started session_id=" in line and line.startswith("{"):
            event = json.loads(line)
            session = event["message"].split("session_id=", 1)[1].split()[0]
            found[session] = datetime.fromisoformat(event["timestamp"]).timestamp()
    return found


@dataclass
class CapacityLevel:
    sessions: int
    turns: list[TurnResult]
    worker_cpu: float  # cores used by the worker's process tree during the turns
    others_cpu: dict[str, float]  # cores used by the other processes
    rss_idle: int
    rss_peak: int
    pss_idle: int
    pss_peak: int
    failed: int
    wall: float


async def run_capacity(
    mode: str,
    levels: list[int],
    run_dir: Path,
    overrides: dict[str, str],
    cycle: float,
    arrival: float,
    frame_ms: int,
) -> list[CapacityLevel]:
    stack = start_voice_stack(mode, run_dir, transcript=BENCH_QUESTION, worker_overrides=overrides)
    out: list[CapacityLevel] = []
    try:
        for level in levels:
            out.append(await _capacity_level(stack, level, cycle, arrival, frame_ms))
            last = out[-1]
            print(
                f"  {level} sessions: {len(last.turns)} turns, p95 "
                f"{ms(pct([t.measured for t in last.turns], 95))} ms, "
                f"worker {last.worker_cpu:.2f} cores",
                flush=True,
            )
        _check_worker_log(stack)
    finally:
        stack.stop()
    return out


CALLERS_PER_PROCESS = 5  # the rtc SDK's event fan-out costs more than linearly per process


class TreeCpu:
    """CPU seconds a process tree used since `__init__`, counting job processes that start and
    end in between (each pid's last reading, taken at every `sample()`)."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.first = {pid: cpu_seconds([pid]) for pid in process_tree(root)}
        self.last = dict(self.first)

    def sample(self) -> list[int]:
        pids = process_tree(self.root)
        for pid in pids:
            self.last[pid] = cpu_seconds([pid]) or self.last.get(pid, 0.0)
        return pids

    def used(self) -> float:
        return sum(self.last.values()) - sum(self.first.values())


async def _capacity_level(
    stack: VoiceStack, sessions: int, cycle: float, arrival: float, frame_ms: int
) -> CapacityLevel:
    """N conversations at once, their callers spread over subprocesses of this program."""
    assert stack.worker is not None
    worker_pid = stack.worker.pid
    others = {p.name: p.pid for p in stack.processes if p is not stack.worker}
    tree = process_tree(worker_pid)
    rss_idle, pss_idle = rss_bytes(tree), pss_bytes(tree)
    turns = 15 if sessions == 1 else max(3, 30 // sessions)
    peak = {"rss": rss_idle, "pss": pss_idle}
    worker_cpu = TreeCpu(worker_pid)
    others_start = {name: cpu_seconds([pid]) for name, pid in others.items()}
    machine_start = machine_busy()
    children_start = _children_cpu()
    sampling = True

    async def sample() -> None:
        while sampling:
            pids = worker_cpu.sample()
            peak["rss"] = max(peak["rss"], rss_bytes(pids))
            peak["pss"] = max(peak["pss"], pss_bytes(pids))
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample())
    processes = -(-sessions // CALLERS_PER_PROCESS)
    start_at = time.time() + 3.0  # every caller process has imported and is waiting by then
    t0 = time.monotonic()
    outputs = await asyncio.gather(
        *(
            _caller_process(
                stack.api_url,
                list(range(first, sessions, processes)),
                sessions=sessions,
                turns=turns,
                cycle=cycle,
                arrival=arrival,
                frame_ms=frame_ms,
                start_at=start_at,
            )
            for first in range(processes)
        )
    )
    wall = time.monotonic() - t0 - 3.0
    worker_cpu.sample()
    sampling = False
    await sampler
    results = [TurnResult(**turn) for out in outputs for turn in out["turns"]]
    failures = [f for out in outputs for f in out["failures"]]
    for failure in failures:
        print(f"  a conversation failed: {failure}", flush=True)
    others_cpu = {
        name: (cpu_seconds([pid]) - others_start[name]) / wall for name, pid in others.items()
    }
    others_cpu["load generator (callers)"] = (_children_cpu() - children_start) / wall
    others_cpu["whole machine"] = (machine_busy() - machine_start) / wall
    # let the job processes end before the next level's idle baseline
    for _ in range(90):  # at most 45 s
        if len(process_tree(worker_pid)) <= len(tree):
            break
        await asyncio.sleep(0.5)
    return CapacityLevel(
        sessions=sessions,
        turns=results,
        worker_cpu=worker_cpu.used() / wall,
        others_cpu=others_cpu,
        rss_idle=rss_idle,
        rss_peak=peak["rss"],
        pss_idle=pss_idle,
        pss_peak=peak["pss"],
        failed=len(failures),
        wall=wall,
    )


def _children_cpu() -> float:
    """CPU seconds of this process's ended and reaped children (the caller processes)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def _caller_process(
    api_url: str,
    indices: list[int],
    *,
    sessions: int,
    turns: int,
    cycle: float,
    arrival: float,
    frame_ms: int,
    start_at: float,
) -> dict[str, Any]:
    """Run `python bench/voice.py callers ...` for these caller indices; its JSON result."""
    cmd = [
        sys.executable,
        str(REPO / "bench" / "voice.py"),
        "callers",
        "--api",
        api_url,
        "--indices",
        ",".join(map(str, indices)),
        "--concurrency",
        str(sessions),
        "--turns",
        str(turns),
        "--cycle",
        str(cycle),
        "--arrival",
        str(arrival),
        "--frame-ms",
        str(frame_ms),
        "--start-at",
        str(start_at),
    ]
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    bound = 3.0 + arrival * sessions + cycle + turns * 3 * WAIT
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


async def cmd_callers(args: argparse.Namespace, _run_dir: Path) -> None:
    """(internal) Some of a capacity level's callers, in a process of their own; prints their
    turns and failures as one JSON line."""
    indices = [int(i) for i in args.indices.split(",")]
    concurrency = args.concurrency
    await asyncio.sleep(max(0.0, args.start_at - time.time()))

    async def one(index: int) -> list[TurnResult]:
        return await converse(
            VoiceStack("external", Path("."), api_url=args.api),
            f"bench-capacity-{concurrency}-{index}-{secrets.token_hex(2)}",
            args.turns,
            concurrency=concurrency,
            connect_delay=args.arrival * index,
            start_delay=args.cycle * index / concurrency,
            frame_ms=args.frame_ms,
        )

    gathered = await asyncio.gather(*(one(i) for i in indices), return_exceptions=True)
    out = {
        "turns": [asdict(t) for r in gathered if isinstance(r, list) for t in r],
        "failures": [repr(r) for r in gathered if isinstance(r, BaseException)],
    }
    print(json.dumps(out), flush=True)


class LoadMeter:
    """CPU the whole machine and this run's own processes (the stack's process trees and this
    benchmark) used between `start()` and `stop()`, in cores."""

    def __init__(self, stack: VoiceStack) -> None:
        self.stack = stack
        self.began = 0.0
        self.machine = 0.0
        self.ours = 0.0

    def _ours(self) -> float:
        import os

        pids = [os.getpid()]
        for proc in self.stack.processes:
            pids += process_tree(proc.pid)
        return cpu_seconds(pids)

    def start(self) -> None:
        self.began, self.machine, self.ours = time.monotonic(), machine_busy(), self._ours()

    def stop(self) -> tuple[float, float]:
        """(machine, ours) in cores over the interval."""
        wall = max(time.monotonic() - self.began, 1e-6)
        return (machine_busy() - self.machine) / wall, (self._ours() - self.ours) / wall


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all cores, from /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLK_TCK


def _check_worker_log(stack: VoiceStack) -> None:
    errors = [line for line in stack.worker_log().splitlines() if '"level": "ERROR"' in line]
    if errors:
        print(f"  worker logged {len(errors)} ERROR lines, first: {errors[0][:300]}", flush=True)


# --- reporting --------------------------------------------------------------------------------


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return (
        f"{nproc} CPUs (nproc), {cpu}, {mem_kb / 1024**2:.1f} GiB RAM, Linux {platform.release()}"
    )


def versions() -> str:
    binary = devstack.find_binary("livekit-server") or "livekit-server"
    livekit = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    found = re.search(r"(\d+\.\d+\.\d+)", livekit)
    parts = [f"livekit-server {found.group(1) if found else '?'}"]
    for name in (
        "livekit-agents",
        "livekit",
        "livekit-plugins-openai",
        "livekit-plugins-silero",
        "livekit-local-inference",
        "faster-whisper",
        "piper-tts",
        "openai",
    ):
        try:
            parts.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    parts.append(f"Python {platform.python_version()}")
    return ", ".join(parts)


def header(command: str) -> list[str]:
    return [
        f"- Command: `{command}`",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        f"- Versions: {versions()}",
    ]


def _p(values: list[float | None], q: float) -> float:
    return pct([v for v in values if v is not None], q)


def latency_rows(runs: list[LatencyRun]) -> list[str]:
    rows = [
        "| providers | turns | voice to voice p50 / p95 | end of turn (of which STT) "
        "| LLM TTFT | TTS TTFB | rest: transport + framework | of which inside the worker "
        "| of which outside |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        t = run.turns

        def both(values: list[float | None]) -> str:
            return f"{ms(_p(values, 50))} / {ms(_p(values, 95))}"

        rows.append(
            f"| {run.mode} | {len(t)} | **{both([x.measured for x in t])}** "
            f"| {both([x.end_of_turn for x in t])} ({both([x.stt for x in t])}) "
            f"| {both([x.llm_ttft for x in t])} | {both([x.tts_ttfb for x in t])} "
            f"| {both([x.rest for x in t])} | {both([x.inside_worker for x in t])} "
            f"| {both([x.outside_worker for x in t])} |"
        )
    return rows


def outside_rows(runs: list[LatencyRun]) -> list[str]:
    rows = [
        "| providers | outside the worker p50 | audio transport, both ways (2 x one-way p50) "
        "| VAD places the end of speech later by | silence opening the reply's audio "
        "| left: agent audio output buffering, decoding, scheduling |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        outside = _p([x.outside_worker for x in run.turns], 50)
        transport = 2 * pct(run.transport, 50)
        left = outside - transport - run.vad_offset - run.reply_silence
        rows.append(
            f"| {run.mode} | {ms(outside)} | {ms(transport)} | {ms(run.vad_offset)} "
            f"| {ms(run.reply_silence)} | {ms(left)} |"
        )
    return rows


def latency_section(runs: list[LatencyRun], command: str, plot: str | None) -> str:
    lines = [
        "## Voice to voice latency",
        "",
        "A scripted caller (`tests/voice_caller.py`, LiveKit rtc SDK) joins through the session "
        "API like a browser user and speaks the bench question (Piper voice, real-time 10 ms "
        "frames) after the agent's greeting; it times each turn from its last non-silent frame "
        "to the first non-silent agent frame it receives. The stages come from the session's "
        "transcript in Redis, which the worker writes from LiveKit's per-turn metrics. Each turn "
        "is answered by a plain sentence (no tool), and the next turn starts when the reply has "
        "played out. These figures gate nothing.",
        "",
        *header(command),
        f"- Question / answer: \u201c{BENCH_QUESTION}\u201d / \u201c{BENCH_ANSWER}\u201d",
    ]
    for run in runs:
        extra = f"; worker settings changed: {run.worker_overrides}" if run.worker_overrides else ""
        lines.append(
            f"- `{run.mode}`: {MODE_NAMES[run.mode]}{extra}. During its turns the machine was "
            f"busy {run.machine_cores:.2f} cores, {run.own_cores:.2f} of them this run's "
            "processes (the rest: other work on the machine)"
        )
    lines += [
        "",
        "Milliseconds, p50 / p95:",
        "",
        *latency_rows(runs),
        "",
        "End of turn runs from the moment the worker's VAD places the end of speech to the "
        "turn's commit: it contains the VAD's silence wait (0.55 s, Silero's default), the STT "
        "request (STT is the part between that moment and the final transcript) and the "
        "end-of-turn model. The rest is the measured figure minus end of turn, TTFT and TTFB; "
        "inside the worker is its own voice-to-voice (LiveKit's `e2e_latency`) minus the same "
        "stages, outside is the measured figure minus the worker's own.",
        "",
        "What lies outside the worker's clock, p50, split with side measurements: the one-way "
        "audio latency between two rtc participants through the same livekit-server (tone "
        "bursts, same frame size and queue as the caller), the Silero VAD run offline on the "
        "question's audio (where it places the end of speech, against the last loud frame), and "
        "the near-silence Piper puts before the first loud frame of the reply's first sentence:",
        "",
        *outside_rows(runs),
    ]
    if plot:
        lines += ["", f"![voice to voice latency by stage]({plot})"]
    lines += ["", *latency_findings(runs)]
    return "\n".join(lines)


def latency_findings(runs: list[LatencyRun]) -> list[str]:
    lines = ["### Against the targets", ""]
    for run in runs:
        t = run.turns
        rest95 = _p([x.rest for x in t], 95)
        inside95 = _p([x.inside_worker for x in t], 95)
        eot50 = _p([x.end_of_turn for x in t], 50)
        v2v50 = _p([x.measured for x in t], 50)
        met = "met" if rest95 * 1000 <= TARGETS["overhead_p95_ms"] else "**not met**"
        lines.append(
            f"- `{run.mode}`: transport + framework overhead p95 {ms(rest95)} ms against "
            f"{TARGETS['overhead_p95_ms']:.0f} ms: {met}. Inside the worker it is "
            f"{ms(inside95)} ms at p95; the rest is outside it (table above). The largest "
            f"stage is the end of turn, {ms(eot50)} ms of the {ms(v2v50)} ms p50."
        )
        if run.mode == "cloud":
            met = "met" if v2v50 * 1000 <= TARGETS["cloud_v2v_p50_ms"] else "**not met**"
            floor = (
                SIMULATED["stt_delay"] + SIMULATED["llm_first_token"] + SIMULATED["tts_first_byte"]
            )
            lines.append(
                f"- Simulated cloud voice to voice p50 {ms(v2v50)} ms against "
                f"{TARGETS['cloud_v2v_p50_ms']:.0f} ms: {met}. The three provider delays alone "
                f"add up to {ms(floor)} ms when they run one after the other, as they do with a "
                "non-streaming STT; the VAD's silence wait before the STT request is the "
                "largest part of the remainder."
            )
    return lines


def join_section(
    results: list[JoinResult],
    mode: str,
    command: str,
    plot: str | None,
    load: tuple[float, float] = (0.0, 0.0),
) -> str:
    def row(name: str, values: list[float | None]) -> str:
        clean = [v for v in values if v is not None]
        return (
            f"| {name} | {ms(pct(clean, 50))} | {ms(pct(clean, 95))} | {ms(max(clean))} |"
            if clean
            else f"| {name} | n/a | n/a | n/a |"
        )

    join95 = _p([r.join_server for r in results], 95)
    greet95 = pct([r.greeting for r in results], 95)
    lines = [
        "## Agent join and time to greeting",
        "",
        "One session at a time: the caller POSTs `/api/voice/session`, joins with the token at "
        "once, and waits for the agent's greeting (`on_enter` -> `generate_reply` through the "
        "LLM, then TTS); it leaves once the greeting has played. Times from the moment the POST "
        "was sent. The agent's join is read from the server's `joined_at` of the agent "
        "participant (millisecond wall clock, same machine) and from when the caller first saw "
        "it (a participant update that reaches the caller after the agent's own join "
        "completes). These figures gate nothing.",
        "",
        *header(command),
        f"- Providers: `{mode}`, {MODE_NAMES[mode]}; {len(results)} sessions, one at a time, a "
        "new user each; the worker in production mode (`start`), which keeps one prewarmed "
        "idle job process per CPU",
        f"- During the run the machine was busy {load[0]:.2f} cores, {load[1]:.2f} of them this "
        "run's processes (the rest: other work on the machine)",
        "",
        "| from the POST to | p50 ms | p95 ms | max ms |",
        "|---|---:|---:|---:|",
        row("its answer (201)", [r.post for r in results]),
        row("the caller connected to the room (from the 201)", [r.connect for r in results]),
        row("the job started in a worker process (its log line)", [r.job_started for r in results]),
        row("**agent joined** (server's joined_at)", [r.join_server for r in results]),
        row("agent seen by the caller", [r.join_seen for r in results]),
        row("**first agent audio at the caller** (greeting)", [r.greeting for r in results]),
    ]
    if plot:
        lines += ["", f"![join and greeting latency]({plot})"]
    lines += [
        "",
        "### Against the targets",
        "",
        f"- Agent join p95 {ms(join95)} ms against {TARGETS['join_p95_ms']:.0f} ms: "
        f"{'met' if join95 * 1000 < TARGETS['join_p95_ms'] else '**not met**'}.",
        f"- Time to greeting p95 {ms(greet95)} ms against {TARGETS['greeting_p95_ms']:.0f} ms: "
        f"{'met' if greet95 * 1000 < TARGETS['greeting_p95_ms'] else '**not met**'}.",
    ]
    return "\n".join(lines)


def capacity_section(
    levels: list[CapacityLevel],
    mode: str,
    command: str,
    plot: str | None,
    arrival: float,
    frame_ms: int,
) -> str:
    lines = [
        "## Capacity: simultaneous conversations on one worker",
        "",
        "N callers at once against one worker (`MAX_CONCURRENT_JOBS=25`), arriving "
        f"{arrival} s apart, in processes of {CALLERS_PER_PROCESS} (the rtc SDK hands "
        "every event of a process to every stream of that process, so its cost grows faster "
        "than linearly with the callers of one process), with "
        f"{frame_ms} ms microphone and playback frames (fewer rtc events per second for the "
        "callers; the same frame size at every level keeps the levels comparable). "
        "Each greets, then asks the bench question turn after turn, the first turns spread "
        "over one cycle so they do not line "
        "up. CPU is utime + stime from "
        "/proc over the conversations, in cores (1.00 = one core busy); memory is the worker's "
        "process tree (the main process, its prewarmed idle job processes and one job process "
        "per conversation), idle before the level and at its peak (RSS; PSS counts shared "
        "pages once). These figures gate nothing.",
        "",
        *header(command),
        f"- Providers: `{mode}`, {MODE_NAMES[mode]}",
        "",
        "| conversations | turns | failed | voice to voice p50 ms | p95 ms | p95 vs one "
        "| worker CPU, cores | per conversation | RSS idle -> peak MB | RSS per conversation MB "
        "| PSS per conversation MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base95 = pct([t.measured for t in levels[0].turns], 95) if levels else float("nan")
    for level in levels:
        values = [t.measured for t in level.turns]
        p95 = pct(values, 95)
        rss_per = (level.rss_peak - level.rss_idle) / level.sessions / 1e6
        pss_per = (level.pss_peak - level.pss_idle) / level.sessions / 1e6
        lines.append(
            f"| {level.sessions} | {len(values)} | {level.failed} | {ms(pct(values, 50))} "
            f"| {ms(p95)} | {p95 / base95:.2f}x | {level.worker_cpu:.2f} "
            f"| {level.worker_cpu / level.sessions:.3f} "
            f"| {level.rss_idle / 1e6:.0f} -> {level.rss_peak / 1e6:.0f} | {rss_per:.0f} "
            f"| {pss_per:.0f} |"
        )
    lines += [
        "",
        "CPU of the other processes during each level, cores (the whole machine's busy time "
        "too: anything beyond the listed processes was other work on the machine):",
        "",
        "| conversations | " + " | ".join(levels[0].others_cpu) + " |",
        "|---:|" + "---:|" * len(levels[0].others_cpu),
    ]
    for level in levels:
        lines.append(
            f"| {level.sessions} | "
            + " | ".join(f"{v:.2f}" for v in level.others_cpu.values())
            + " |"
        )
    stage_rows = [
        "",
        "Stages at each level, p95 ms (end of turn / LLM TTFT / TTS TTFB / inside the worker / "
        "outside it):",
        "",
        "| conversations | end of turn | STT | LLM TTFT | TTS TTFB | inside the worker | outside |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for level in levels:
        t = level.turns
        stage_rows.append(
            f"| {level.sessions} | {ms(_p([x.end_of_turn for x in t], 95))} "
            f"| {ms(_p([x.stt for x in t], 95))} | {ms(_p([x.llm_ttft for x in t], 95))} "
            f"| {ms(_p([x.tts_ttfb for x in t], 95))} | {ms(_p([x.inside_worker for x in t], 95))} "
            f"| {ms(_p([x.outside_worker for x in t], 95))} |"
        )
    lines += stage_rows
    if plot:
        lines += ["", f"![capacity]({plot})"]
    if levels:
        last = levels[-1]
        p95_last = pct([t.measured for t in last.turns], 95)
        ratio = p95_last / base95
        mem = (last.rss_peak - last.rss_idle) / last.sessions / 1e6
        lines += [
            "",
            "### Against the targets",
            "",
            f"- {last.sessions} conversations: p95 {ms(p95_last)} ms, {ratio:.2f}x the single "
            f"conversation's {ms(base95)} ms, against at most "
            f"{TARGETS['capacity_p95_ratio']:.2f}x: "
            f"{'met' if ratio <= TARGETS['capacity_p95_ratio'] else '**not met**'}.",
            f"- Memory per conversation (RSS) {mem:.0f} MB against "
            f"{TARGETS['memory_per_session_mb']:.0f} MB: "
            f"{'met' if mem < TARGETS['memory_per_session_mb'] else '**not met**'}.",
        ]
    return "\n".join(lines)


# --- plots ------------------------------------------------------------------------------------


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (add it to the dev dependencies)")
        return None
    return plt


def save_figure(plt: Any, fig: Any, path: Path) -> bool:
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def plot_latency(runs: list[LatencyRun], path: Path) -> bool:
    plt = _pyplot()
    if plt is None:
        return False
    stages = [
        ("end of turn", lambda x: x.end_of_turn),
        ("LLM TTFT", lambda x: x.llm_ttft),
        ("TTS TTFB", lambda x: x.tts_ttfb),
        ("inside the worker", lambda x: x.inside_worker),
        ("outside the worker", lambda x: x.outside_worker),
    ]
    fig, (bars, dist) = plt.subplots(1, 2, figsize=(11, 4.6))
    names = [r.mode for r in runs]
    bottom = np.zeros(len(runs))
    for label, get in stages:
        values = np.array([_p([get(x) for x in r.turns], 50) * 1000 for r in runs])
        bars.barh(names, values, left=bottom, label=label)
        bottom += np.maximum(values, 0)
    for index, run in enumerate(runs):
        p50 = pct([x.measured for x in run.turns], 50) * 1000
        bars.plot([p50], [index], "k|", markersize=25)
    bars.set_xlabel("ms (p50 of each stage; | = measured p50)")
    bars.set_title("Voice to voice by stage")
    bars.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    for run in runs:
        ordered = sorted(x.measured * 1000 for x in run.turns)
        dist.plot(ordered, np.linspace(0, 1, len(ordered)), label=run.mode)
    dist.axvline(TARGETS["cloud_v2v_p50_ms"], color="grey", linestyle=":", label="600 ms")
    dist.set_xlabel("voice to voice, ms")
    dist.set_ylabel("share of turns")
    dist.set_title("Distribution")
    dist.legend(fontsize=8)
    return save_figure(plt, fig, path)


def plot_join(results: list[JoinResult], path: Path) -> bool:
    plt = _pyplot()
    if plt is None:
        return False
    fig, ax = plt.subplots(figsize=(7, 3.5))
    series = {
        "agent joined (server)": [r.join_server for r in results if r.join_server is not None],
        "greeting heard": [r.greeting for r in results],
    }
    for label, values in series.items():
        points = sorted(v * 1000 for v in values)
        ax.plot(points, np.linspace(0, 1, len(points)), label=label)
    ax.axvline(TARGETS["join_p95_ms"], color="C0", linestyle=":", label="join target (p95)")
    ax.axvline(TARGETS["greeting_p95_ms"], color="C1", linestyle=":", label="greeting target")
    ax.set_xlabel("ms after POST /api/voice/session")
    ax.set_ylabel("share of sessions")
    ax.legend(fontsize=8)
    return save_figure(plt, fig, path)


def plot_capacity(levels: list[CapacityLevel], path: Path) -> bool:
    plt = _pyplot()
    if plt is None:
        return False
    fig, (lat, res) = plt.subplots(1, 2, figsize=(11, 4))
    n = [lv.sessions for lv in levels]
    for q in (50, 95):
        lat.plot(n, [pct([t.measured for t in lv.turns], q) * 1000 for lv in levels], "o-",
                 label=f"p{q}")  # fmt: skip
    if levels:
        base = pct([t.measured for t in levels[0].turns], 95) * 1000
        lat.axhline(base * TARGETS["capacity_p95_ratio"], color="grey", linestyle=":",
                    label="single p95 + 15%")  # fmt: skip
    lat.set_xlabel("simultaneous conversations")
    lat.set_ylabel("voice to voice, ms")
    lat.legend(fontsize=8)
    res.plot(n, [lv.worker_cpu for lv in levels], "o-", label="worker CPU (cores)")
    mem = res.twinx()
    mem.plot(n, [(lv.rss_peak - lv.rss_idle) / lv.sessions / 1e6 for lv in levels], "s--",
             color="C3", label="RSS per conversation (MB)")  # fmt: skip
    mem.plot(n, [(lv.pss_peak - lv.pss_idle) / lv.sessions / 1e6 for lv in levels], "^--",
             color="C2", label="PSS per conversation (MB)")  # fmt: skip
    mem.axhline(TARGETS["memory_per_session_mb"], color="grey", linestyle=":")
    res.set_xlabel("simultaneous conversations")
    res.set_ylabel("cores")
    mem.set_ylabel("MB per conversation")
    res.legend(loc="upper left", fontsize=8)
    mem.legend(loc="upper right", fontsize=8)
    return save_figure(plt, fig, path)


# --- docs/benchmarks.md -----------------------------------------------------------------------


def write_section(name: str, body: str) -> None:
    """Replace this section (between its markers) in docs/benchmarks.md, or append it; the
    file is read just before writing, so other sections stay as they are."""
    start, end = f"<!-- bench-voice-{name}:start -->", f"<!-- bench-voice-{name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = DOC.read_text()
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(text)
    print(f"wrote the {name} section of {DOC.relative_to(REPO)}")


def save_raw(run_dir: Path, name: str, data: Any) -> None:
    path = run_dir / f"{name}.json"
    path.write_text(
        json.dumps(
            data,
            default=lambda o: asdict(o) if hasattr(o, "__dataclass_fields__") else str(o),
            indent=1,
        )
    )  # noqa: E501
    print(f"raw figures: {path}")


# --- command line -----------------------------------------------------------------------------


def _command(args: argparse.Namespace) -> str:
    return "python bench/voice.py " + " ".join(sys.argv[1:])


async def cmd_latency(args: argparse.Namespace, run_dir: Path) -> None:
    runs = []
    for mode in args.modes.split(","):
        print(f"latency, {mode} providers", flush=True)
        runs.append(
            await run_latency(mode, args.sessions, args.turns, run_dir / mode, _overrides(args))
        )
    save_raw(run_dir, "latency", runs)
    print("\n".join(latency_rows(runs)))
    print("\n".join(outside_rows(runs)))
    if args.write:
        plotted = plot_latency(runs, IMAGES / "voice-latency.png")
        body = latency_section(
            runs, _command(args), "images/voice-latency.png" if plotted else None
        )
        write_section("latency", body)


async def cmd_join(args: argparse.Namespace, run_dir: Path) -> None:
    print(f"join, {args.mode} providers", flush=True)
    results, load = await run_join(
        args.mode, args.join_sessions, run_dir / "join", _overrides(args)
    )
    save_raw(run_dir, "join", results)
    body = join_section(results, args.mode, _command(args), None, load)
    print(body)
    if args.write:
        plotted = plot_join(results, IMAGES / "voice-join.png")
        plot = "images/voice-join.png" if plotted else None
        body = join_section(results, args.mode, _command(args), plot, load)
        write_section("join", body)


async def cmd_capacity(args: argparse.Namespace, run_dir: Path) -> None:
    levels = [int(x) for x in args.levels.split(",")]
    print(f"capacity, {args.mode} providers, levels {levels}", flush=True)
    results = await run_capacity(
        args.mode,
        levels,
        run_dir / "capacity",
        _overrides(args),
        args.cycle,
        args.arrival,
        args.frame_ms,
    )
    save_raw(run_dir, "capacity", results)
    body = capacity_section(results, args.mode, _command(args), None, args.arrival, args.frame_ms)
    print(body)
    if args.write:
        plotted = plot_capacity(results, IMAGES / "voice-capacity.png")
        plot = "images/voice-capacity.png" if plotted else None
        body = capacity_section(
            results, args.mode, _command(args), plot, args.arrival, args.frame_ms
        )
        write_section("capacity", body)


async def cmd_all(args: argparse.Namespace, run_dir: Path) -> None:
    await cmd_latency(args, run_dir)
    await cmd_join(args, run_dir)
    await cmd_capacity(args, run_dir)


COMMANDS: dict[str, Callable[[argparse.Namespace, Path], Any]] = {
    "callers": cmd_callers,
    "latency": cmd_latency,
    "join": cmd_join,
    "capacity": cmd_capacity,
    "all": cmd_all,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument("--modes", default="local,cloud", help="latency: providers to run")
    parser.add_argument("--mode", default="cloud", choices=("local", "cloud"),
                        help="join, capacity: providers")  # fmt: skip
    parser.add_argument("--sessions", type=int, default=3, help="latency: sessions per mode")
    parser.add_argument("--join-sessions", type=int, default=30, help="join: sessions")
    parser.add_argument("--turns", type=int, default=11, help="latency: turns per session")
    parser.add_argument("--levels", default="1,5,10,20", help="capacity: conversations")
    parser.add_argument("--cycle", type=float, default=7.0,
                        help="capacity: seconds over which the first turns are spread")  # fmt: skip
    parser.add_argument("--arrival", type=float, default=0.5,
                        help="capacity: seconds between two callers' arrivals")  # fmt: skip
    parser.add_argument("--frame-ms", type=int, default=40,
                        help="capacity: the callers' audio frame (ms)")  # fmt: skip
    for internal in ("--api", "--indices", "--concurrency", "--start-at"):  # `callers` only
        parser.add_argument(internal, help=argparse.SUPPRESS)
    parser.add_argument("--worker-env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    if args.command == "callers":
        args.concurrency, args.start_at = int(args.concurrency), float(args.start_at)
        asyncio.run(cmd_callers(args, Path(".")))
        return
    run_dir = Path(tempfile.mkdtemp(prefix=f"bench-voice-{args.command}-"))
    print(f"logs and raw figures: {run_dir}", flush=True)
    asyncio.run(COMMANDS[args.command](args, run_dir))


if __name__ == "__main__":
    main()
