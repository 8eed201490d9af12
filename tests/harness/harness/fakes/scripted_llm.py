"""ScriptedLLM: a FAKE of OpenAI's chat completions API, the one paid cloud service tests replace.

It serves `POST /v1/chat/completions` (streamed as server-sent events, exactly as OpenAI streams)
and `GET /v1/models` on loopback. The worker talks to it through the real OpenAI plugin with
`LLM_PROVIDER=openai_compatible` and `LLM_BASE_URL`, so the production code path is exercised.

Behaviour is a list of rules matched against the newest user or system text. A rule answers with
text, or with a tool call whose result is then turned into text by the rule's `reply`. Every
request is kept in `requests` so tests can see what the model was shown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from harness.fakes.loopback import HOST, LoopbackServer

ToolArgs = dict[str, Any] | Callable[[re.Match[str]], dict[str, Any]]
Reply = str | Callable[[str], str]


@dataclass
class Rule:
    """When `pattern` matches the newest user/system text: call `tool`, or just say `reply`.
    A callable `reply` is given that text, or with `reads_context` all the text of the request
    (what the model was shown), to answer from what it remembers."""

    pattern: str
    reply: Reply = "OK."
    tool: str | None = None
    arguments: ToolArgs = field(default_factory=dict)
    reads_context: bool = False
    hold: asyncio.Event | None = None  # the answer waits for it (a model slow to answer this)

    def matches(self, text: str) -> re.Match[str] | None:
        return re.search(self.pattern, text, re.IGNORECASE)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


class ScriptedLLM:
    def __init__(
        self,
        rules: list[Rule],
        *,
        default_reply: str = "Sorry, I did not catch that.",
        first_token_delay: float = 0.0,
        words_per_chunk: int = 3,
        tokens_per_second: float = 0.0,
    ) -> None:
        self.rules = rules
        self.default_reply = default_reply
        self.first_token_delay = first_token_delay
        self.words_per_chunk = words_per_chunk
        # 0: every chunk at once; else a word counts as a token and chunks follow at this rate
        self.tokens_per_second = tokens_per_second
        self.fail_status: int | None = None  # when set, every completion fails with it
        self.requests: list[dict[str, Any]] = []
        self._server: LoopbackServer | None = None
        self.url = ""

    def add_routes(self, app: web.Application) -> None:
        """Serve the chat API from `app` too (a fake OpenAI root with the audio API beside it);
        requests there land in the same `requests`."""
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._completions)

    async def start(self, host: str = HOST, port: int = 0) -> str:
        app = web.Application()
        self.add_routes(app)
        self._server = LoopbackServer(app)
        self.url = f"{await self._server.start(host, port)}/v1"
        return self.url

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()

    # --- what to answer ----------------------------------------------------------------------

    def _rule_for_tool_result(self, messages: list[dict[str, Any]]) -> Rule | None:
        calls = [m for m in messages if m.get("role") == "assistant" and m.get("tool_calls")]
        if not calls:
            return None
        name = calls[-1]["tool_calls"][-1]["function"]["name"]
        return next((r for r in self.rules if r.tool == name), None)

    def _relay(self, messages: list[dict[str, Any]], tool_message: dict[str, Any]) -> str:
        """The answer to a tool's result: its rule's reply, or the output itself."""
        rule = self._rule_for_tool_result(messages[: messages.index(tool_message)])
        output = _text(tool_message.get("content"))
        if rule is None:
            return output
        return rule.reply(output) if callable(rule.reply) else rule.reply

    def _hold(self, messages: list[dict[str, Any]]) -> asyncio.Event | None:
        """The hold of the first rule matching the newest user/system text, if any."""
        newest = next(
            (
                _text(m.get("content"))
                for m in reversed(messages)
                if m.get("role") in ("user", "system")
            ),
            "",
        )
        return next((rule.hold for rule in self.rules if rule.matches(newest)), None)

    def _answer(
        self, messages: list[dict[str, Any]], offered: set[str]
    ) -> tuple[str | None, dict[str, Any] | None]:
        """(text, None) or (None, tool call) for this conversation. A rule for a tool the
        request does not offer is skipped, as a real model never calls one; when that leaves
        no rule, the newest tool result is relayed (an agent back from a sub-dialogue, the
        words that ended it meant for the sub-dialogue's tool, finds its own tool's result
        before them)."""
        last = messages[-1]
        if last.get("role") == "tool":
            return self._relay(messages, last), None
        newest = next(
            (
                _text(m.get("content"))
                for m in reversed(messages)
                if m.get("role") in ("user", "system")
            ),
            "",
        )
        unavailable = False
        for rule in self.rules:
            match = rule.matches(newest)
            if not match:
                continue
            if rule.tool and rule.tool not in offered:
                unavailable = True
                continue
            if rule.tool:
                args = rule.arguments(match) if callable(rule.arguments) else rule.arguments
                return None, {"name": rule.tool, "arguments": json.dumps(args)}
            if not callable(rule.reply):
                return rule.reply, None
            shown = "\n".join(_text(m.get("content")) for m in messages)
            return rule.reply(shown if rule.reads_context else newest), None
        results = [m for m in messages if m.get("role") == "tool"]
        if unavailable and results:
            return self._relay(messages, results[-1]), None
        return self.default_reply, None

    # --- the OpenAI wire format ----------------------------------------------------------------

    async def _models(self, _: web.Request) -> web.Response:
        return web.json_response(
            {"object": "list", "data": [{"id": "scripted", "object": "model"}]}
        )

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        if self.fail_status is not None:
            return web.json_response(
                {"error": {"message": "scripted failure", "type": "server_error"}},
                status=self.fail_status,
            )
        offered = {tool["function"]["name"] for tool in body.get("tools") or []}
        text, tool_call = self._answer(body["messages"], offered)
        if (hold := self._hold(body["messages"])) is not None:
            await hold.wait()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"

        async def send(delta: dict[str, Any], finish: str | None = None) -> None:
            chunk = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": body.get("model", "scripted"),
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        if self.first_token_delay:
            await asyncio.sleep(self.first_token_delay)
        if tool_call is not None:
            call = {
                "index": 0,
                "id": f"call_{uuid.uuid4().hex[:8]}",
                "type": "function",
                "function": tool_call,
            }
            await send({"role": "assistant", "content": None, "tool_calls": [call]})
            await send({}, finish="tool_calls")
        else:
            words = (text or "").split(" ")
            await send({"role": "assistant", "content": ""})
            first = time.monotonic()
            for start in range(0, len(words), self.words_per_chunk):
                if self.tokens_per_second:
                    due = first + start / self.tokens_per_second
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                piece = " ".join(words[start : start + self.words_per_chunk])
                await send({"content": piece if start == 0 else " " + piece})
            await send({}, finish="stop")
        usage = {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}
        final = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", "scripted"),
            "choices": [],
            "usage": usage,
        }
        await response.write(f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode())
        await response.write_eof()
        return response


async def _serve(host: str, port: int) -> None:
    from harness.fakes.voice_script import RULES

    llm = ScriptedLLM(RULES)
    print(f"ScriptedLLM (a fake of OpenAI's chat completions) on {await llm.start(host, port)}")
    await asyncio.Event().wait()  # until the process is stopped


def main() -> None:
    """`python -m harness.fakes.scripted_llm --host H --port P`: the voice script's rules,
    served until stopped (the compose tests run it in a container, as the LLM the worker
    reaches)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11434)
    args = parser.parse_args()
    asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
