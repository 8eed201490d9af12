"""`ContextBudget`: what a long call sends the LLM stays within a token budget.

Every LLM request of the session's agents passes through `fit` (`agent.QuietLLMFailures`):

- the agent's instructions are always sent;
- the oldest turns are folded into a running summary, which is sent (as a system message)
  instead of them. The summary is written by the session's own LLM in the background: `fit`
  never waits for it, it starts a summary once the unsummarised turns pass `FOLD_AT` of the
  budget, and uses the newest summary there is;
- tool outputs before the user's last turn are cut to `TOOL_OUTPUT_CHARS`;
- should the turns still not fit (the summary is late), the oldest are left out until they do.

Only the request is trimmed: the session's history and the Redis transcript keep everything.
Tokens are estimated as characters / 4 (no tokenizer of the model is available to the worker),
over the messages' text, tool arguments and outputs; the tools' schemas are not counted.
"""

import asyncio
import logging
from collections.abc import Sequence

from livekit.agents import llm as lk_llm
from livekit.agents.llm import ChatContext, ChatItem, ChatMessage, FunctionCall, FunctionCallOutput

log = logging.getLogger("voice_agent")

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 4  # role and separators of one message
TOOL_OUTPUT_CHARS = 300
FOLD_AT = 0.6  # unsummarised turns above this share of the budget start a summary...
KEEP_AFTER_FOLD = 0.3  # ...of the oldest turns, leaving this share unsummarised
SUMMARY_SHARE = 0.2  # the summary's own limit, as a share of the budget
SUMMARY_HEADER = "Summary of the earlier part of this conversation (use it, do not recite it):\n"
SUMMARY_INSTRUCTIONS = (
    "You keep the running summary of a voice conversation between a user and an assistant. "
    "Write an updated summary in a few short sentences: every fact, name, number, date, "
    "decision and open request the user gave or the assistant confirmed, from the previous "
    "summary and the new turns. No preamble."
)
SUMMARY_REQUEST = "Summarise this conversation.\nPrevious summary: {summary}\nNew turns:\n{turns}"


def estimate_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + MESSAGE_OVERHEAD_TOKENS


def item_text(item: ChatItem) -> str:
    """What of an item is sent to the LLM, as text ("" for items that are not sent)."""
    if isinstance(item, ChatMessage):
        return item.text_content or ""
    if isinstance(item, FunctionCall):
        return f"{item.name}({item.arguments})"
    if isinstance(item, FunctionCallOutput):
        return item.output
    return ""


def _sent(item: ChatItem) -> bool:
    return isinstance(item, ChatMessage | FunctionCall | FunctionCallOutput)


def tokens_of(items: Sequence[ChatItem]) -> int:
    return sum(estimate_tokens(item_text(item)) for item in items if _sent(item))


def _line(item: ChatItem) -> str:
    if isinstance(item, ChatMessage):
        return f"{item.role}: {item.text_content or ''}"
    if isinstance(item, FunctionCall):
        return f"tool call {item.name}({item.arguments})"
    return f"tool result: {item_text(item)[:TOOL_OUTPUT_CHARS]}"


class ContextBudget:
    """One session's budget and running summary (every agent of the session shares it, so the
    summary survives handoffs)."""

    def __init__(self, budget_tokens: int) -> None:
        self.budget = budget_tokens
        self.summary = ""
        self._summarised: set[str] = set()  # ids of the items the summary covers
        self._summarising: asyncio.Task[None] | None = None

    def fit(self, chat_ctx: ChatContext, llm: lk_llm.LLM | None) -> ChatContext:
        """The request to send for `chat_ctx`; starts a summary in the background (with `llm`)
        when the turns grow past `FOLD_AT` of the budget."""
        items = [item for item in chat_ctx.items if _sent(item)]
        head = _leading_instructions(items)
        turns = [item for item in items[len(head) :] if item.id not in self._summarised]
        turns = _shorten_tool_outputs(turns)
        if llm is not None and tokens_of(turns) > self.budget * FOLD_AT:
            self._start_summary(turns, llm)
        summary = (
            [ChatMessage(role="system", content=[SUMMARY_HEADER + self.summary])]
            if self.summary
            else []
        )
        room = self.budget - tokens_of(head) - tokens_of(summary)
        kept = _newest_that_fit(turns, room)
        if len(kept) < len(turns):
            log.info(
                "context budget: turns left out until summarised",
                extra={"left_out": len(turns) - len(kept)},
            )
        return ChatContext([*head, *summary, *kept])

    def _start_summary(self, turns: list[ChatItem], llm: lk_llm.LLM) -> None:
        if self._summarising is not None and not self._summarising.done():
            return  # one at a time; the next request starts the next one
        keep = _newest_that_fit(turns, int(self.budget * KEEP_AFTER_FOLD))
        # The summary request keeps to the budget too: its instructions, the previous summary
        # (SUMMARY_SHARE at most) and at most this much of the turns, with room to spare for
        # the lines' prefixes.
        room = int(self.budget * (1 - 2 * SUMMARY_SHARE)) - estimate_tokens(SUMMARY_INSTRUCTIONS)
        fold = _oldest_that_fit(turns[: len(turns) - len(keep)], room)
        if fold:
            self._summarising = asyncio.create_task(
                self._summarise(fold, llm), name="context-summary"
            )

    async def _summarise(self, fold: list[ChatItem], llm: lk_llm.LLM) -> None:
        request = SUMMARY_REQUEST.format(
            summary=self.summary or "(none)", turns="\n".join(_line(item) for item in fold)
        )
        ctx = ChatContext()
        ctx.add_message(role="system", content=SUMMARY_INSTRUCTIONS)
        ctx.add_message(role="user", content=request)
        text = ""
        try:
            async with llm.chat(chat_ctx=ctx) as stream:
                async for chunk in stream:
                    if chunk.delta and chunk.delta.content:
                        text += chunk.delta.content
        except Exception as exc:  # a failed summary is retried by a later request
            log.warning("context summary failed", extra={"error": type(exc).__name__})
            return
        limit = int(self.budget * SUMMARY_SHARE) * CHARS_PER_TOKEN
        self.summary = text.strip()[:limit]
        self._summarised.update(item.id for item in fold)

    async def aclose(self) -> None:
        if self._summarising is not None:
            self._summarising.cancel()


def _leading_instructions(items: list[ChatItem]) -> list[ChatItem]:
    head: list[ChatItem] = []
    for item in items:
        if not (isinstance(item, ChatMessage) and item.role in ("system", "developer")):
            break
        head.append(item)
    return head


def _shorten_tool_outputs(turns: list[ChatItem]) -> list[ChatItem]:
    """Tool outputs before the user's last turn, cut to TOOL_OUTPUT_CHARS (the LLM has
    answered from them already)."""
    last_user = max(
        (
            i
            for i, item in enumerate(turns)
            if isinstance(item, ChatMessage) and item.role == "user"
        ),
        default=-1,
    )
    return [
        item.model_copy(update={"output": item.output[:TOOL_OUTPUT_CHARS] + "..."})
        if isinstance(item, FunctionCallOutput)
        and i < last_user
        and len(item.output) > TOOL_OUTPUT_CHARS
        else item
        for i, item in enumerate(turns)
    ]


def _oldest_that_fit(turns: list[ChatItem], room: int) -> list[ChatItem]:
    kept: list[ChatItem] = []
    used = 0
    for item in turns:
        used += tokens_of([item])
        if used > room:
            break
        kept.append(item)
    return kept


def _newest_that_fit(turns: list[ChatItem], room: int) -> list[ChatItem]:
    """The newest turns within `room` tokens, never starting with a tool output whose call
    was left out."""
    kept: list[ChatItem] = []
    used = 0
    for item in reversed(turns):
        cost = tokens_of([item])
        if used + cost > room:
            break
        kept.insert(0, item)
        used += cost
    while kept and isinstance(kept[0], FunctionCallOutput):
        kept.pop(0)
    return kept
