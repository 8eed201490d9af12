"""The worker's terminal modes, run as a person runs them.

`python -m voice_agent console --text` in a pseudo-terminal: a typed question reaches the LLM
(the ScriptedLLM fake), the tool runs on the project data in Redis, and the answer is printed;
with no LLM answering, a turn prints the apology and one plain line, no traceback.
`python -m voice_agent dev` registers with livekit-server and logs in colour, not JSON.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from harness.fakes.scripted_llm import ScriptedLLM
from harness.infra import require_portaudio
from harness.livekit_server import LiveKitServer
from harness.processes import free_port, spawn, wait_until
from harness.redis_server import RedisServer
from harness.terminal import ENTER, Terminal, open_terminal, squeezed
from harness.worker import console_env, local_providers, worker_env
from voice_agent import health
from voice_agent.log_messages import WORKER_READY
from voice_agent.trouble import MESSAGES

CONSOLE = [sys.executable, "-m", "voice_agent", "console", "--text"]
PROMPT = "Type to talk to your agent"  # LiveKit's text prompt, shown when it waits for a line
QUESTION = "What is the status of Apollo?"
STARTUP_SECONDS = 120  # the job loads Whisper, Piper and the end-of-turn model on 2 cores

OpenConsole = Callable[[str], Awaitable[Terminal]]


@pytest.fixture
async def open_console(
    run_dir: Path, redis_server: RedisServer, request: pytest.FixtureRequest
) -> AsyncIterator[OpenConsole]:
    """Start `console --text` with the LLM at a URL, in a terminal; ready at its prompt."""
    require_portaudio()
    terminals: list[Terminal] = []

    async def start(llm_url: str) -> Terminal:
        env = console_env(redis_server.url, llm_url, free_port())
        name = f"console-{request.node.name[5:45]}-{len(terminals)}"
        terminal = open_terminal(name, CONSOLE, run_dir / "logs", env)
        terminals.append(terminal)
        await terminal.wait_for(PROMPT, within=STARTUP_SECONDS)
        return terminal

    yield start
    for terminal in terminals:
        terminal.stop()


async def type_keys(terminal: Terminal, keys: str, shown: str, attempts: int = 3) -> int:
    """Type `keys` until the screen shows `shown` (a regular expression); where it ends.

    LiveKit's prompt reads one key at a time and flushes the terminal's input before each read
    (TCSAFLUSH), so a key that arrives between two reads is lost, as it would be for a person
    typing fast or pasting. Keys are typed one at a time, each seen on the screen before the
    next, and one that did not show is typed again."""
    start = len(terminal.text)
    for attempt in range(attempts):
        terminal.type(keys)
        try:
            return (await terminal.wait_for(shown, start, within=5)).end()
        except AssertionError:
            if attempt == attempts - 1 or not terminal.alive():
                raise
    raise AssertionError("unreachable")


async def ask(terminal: Terminal, question: str) -> str:
    """Type `question` and Enter as a person would; the text printed until the prompt is back
    (the turn)."""
    for typed in range(1, len(question) + 1):
        await type_keys(
            terminal, question[typed - 1], "\u276f " + re.escape(question[:typed]) + "\u2588"
        )
    said = await type_keys(terminal, ENTER, r"You\s+" + re.escape(question))
    back = await terminal.wait_for(PROMPT, said)
    return terminal.text[said : back.start()]


def last_user_text(request: dict[str, Any]) -> str:
    users = [m for m in request["messages"] if m["role"] == "user"]
    return str(users[-1]["content"]) if users else ""


async def test_a_typed_question_reaches_the_llm_runs_the_tool_and_the_answer_is_printed(
    open_console: OpenConsole, scripted_llm_server: ScriptedLLM
) -> None:
    terminal = await open_console(scripted_llm_server.url)
    seen = len(scripted_llm_server.requests)

    turn = await ask(terminal, QUESTION)

    asked = [r for r in scripted_llm_server.requests[seen:] if last_user_text(r) == QUESTION]
    tool_outputs = [m["content"] for r in asked for m in r["messages"] if m["role"] == "tool"]
    calls = [
        (call["function"]["name"], json.loads(call["function"]["arguments"]))
        for r in asked
        for m in r["messages"]
        if m["role"] == "assistant"
        for call in m.get("tool_calls") or []
    ]
    assert calls == [("get_project_status", {"project_name": "Apollo"})]
    assert len(tool_outputs) == 1 and tool_outputs[0].startswith("Apollo is "), tool_outputs
    printed = squeezed(turn)
    assert "get_project_status" in printed, turn
    assert f"Here is the status. {squeezed(tool_outputs[0])}" in printed, turn
    assert "Traceback" not in terminal.text


async def test_with_no_llm_a_turn_prints_the_apology_and_one_line(
    open_console: OpenConsole,
) -> None:
    nothing_listens = f"http://127.0.0.1:{free_port()}/v1"
    terminal = await open_console(nothing_listens)

    turn = await ask(terminal, QUESTION)

    assert squeezed(MESSAGES["llm_error"]) in squeezed(turn), turn
    problems = [line for line in turn.splitlines() if "provider failed" in line]
    assert len(problems) == 1 and "llm_error" in problems[0], turn
    assert "All connection attempts failed" in problems[0], problems
    assert "Traceback" not in terminal.text, terminal.text[-5000:]


async def test_dev_mode_registers_with_livekit_server(
    run_dir: Path,
    livekit_server: LiveKitServer,
    redis_server: RedisServer,
    scripted_llm_server: ScriptedLLM,
) -> None:
    port = free_port()
    env = worker_env(
        livekit_server, redis_server.url, port, WORKER_METRICS_PORT="0",
        **local_providers(scripted_llm_server.url),
    )  # fmt: skip
    proc = spawn(
        "voice-agent-dev", [sys.executable, "-m", "voice_agent", "dev"], run_dir / "logs", env
    )
    try:
        # Registered: its health endpoint answers and it left the marker with the worker id
        # livekit-server gave it (what the compose healthcheck reads).
        registered = lambda: health.check(port) is None  # noqa: E731
        await asyncio.to_thread(wait_until, proc, registered, "registering with LiveKit", 120)
        worker_id = health.registered_marker(port).read_text()
        ready_lines = [line for line in proc.log_text().splitlines() if WORKER_READY in line]
        assert len(ready_lines) == 1 and worker_id in ready_lines[0], proc.log_tail()
        with pytest.raises(json.JSONDecodeError):  # development mode's coloured lines
            json.loads(ready_lines[0])
    finally:
        assert proc.stop() == 0, proc.log_tail()
