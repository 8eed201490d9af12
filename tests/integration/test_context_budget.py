"""A long call within the context budget: 150 scripted turns through the production agent, with
tool calls among them. No request to the LLM exceeds the budget, older tool outputs are cut,
older turns are folded into a running summary written by the same LLM, and a fact the user
gave in turn 3 is still what the agent answers from in turn 150. The Redis transcript keeps
every turn. An AgentSession with no room against the ScriptedLLM fake (this folder's conftest)."""

import asyncio
import json
import re
from collections.abc import AsyncIterator

import pytest

from harness.fakes.pm_script import RULES
from harness.fakes.scripted_llm import Rule, ScriptedLLM
from voice_agent.context_budget import SUMMARY_INSTRUCTIONS, ContextBudget, estimate_tokens
from voice_agent.session_data import SessionData
from voice_common import redis_keys as keys

BUDGET = 1500
TURNS = 150
FACT = "my cost centre is CC-4711"
CHATTER = (
    "Planning note {n}: a good plan names an owner, a date and the next step for every piece "
    "of work, and it is reviewed every week with the whole team so that nothing is forgotten "
    "and nobody waits on a decision that was already made somewhere else."
)


def summarise(request: str) -> str:
    """The fake's summary: the facts the user asked it to remember, from the previous summary
    and the new turns (a real model keeps facts the same way, told to by the instructions)."""
    facts = dict.fromkeys(re.findall(r"remember that ([^.;\n]+)", request))
    return "; ".join(f"the user asked me to remember that {fact}" for fact in facts) + "."


def recall(shown: str) -> str:
    found = re.search(r"cost centre is (CC-\d+)", shown)
    return f"Your cost centre is {found.group(1)}." if found else "I do not know it."


@pytest.fixture
async def scripted_llm() -> AsyncIterator[ScriptedLLM]:
    fake = ScriptedLLM([
        Rule(r"^Summarise this conversation", reply=summarise),
        Rule(r"which cost centre did I give you", reply=recall, reads_context=True),
        Rule(r"tell me planning note (\d+)", reply=lambda text: CHATTER.format(n=text[-3:])),
        *RULES,
    ])  # fmt: skip
    await fake.start()
    yield fake
    await fake.stop()


def request_tokens(request: dict) -> int:
    """The request's size as the budget counts it: every message's text, tool calls and
    tool outputs."""
    total = 0
    for message in request["messages"]:
        content = message.get("content")
        text = content if isinstance(content, str) else ""
        for call in message.get("tool_calls") or []:
            text += f"{call['function']['name']}({call['function']['arguments']})"
        total += estimate_tokens(text)
    return total


def user_turn(number: int) -> str:
    if number == 3:
        return f"Please remember that {FACT}."
    if number == TURNS:
        return "Which cost centre did I give you?"
    if number % 10 == 0:
        return "What's the status of Apollo?"
    return f"Tell me planning note {number:03d}"


async def test_150_turns_stay_within_the_budget_and_remember_turn_3(
    start_session, scripted_llm, redis
):
    session_id = "long-call"
    await redis.delete(keys.transcript(session_id))
    budget = ContextBudget(BUDGET)

    def prepare(session) -> None:
        session.userdata.context_budget = budget

    async with start_session(session_id=session_id, prepare=prepare) as (session, _):
        assert isinstance(session.userdata, SessionData)
        for number in range(1, TURNS + 1):
            result = await session.run(user_input=user_turn(number))
        answer = result.expect[-1].is_message(role="assistant").event().item.text_content
        await budget.aclose()

    assert answer == "Your cost centre is CC-4711.", "the fact of turn 3, used in turn 150"
    requests = scripted_llm.requests
    sizes = [request_tokens(r) for r in requests]
    assert max(sizes) <= BUDGET, f"largest request: {max(sizes)} tokens"

    summaries = [r for r in requests if r["messages"][0]["content"] == SUMMARY_INSTRUCTIONS]
    assert len(summaries) >= 5, "older turns were folded again and again"
    last = requests[-1]
    shown = [m.get("content") or "" for m in last["messages"]]
    assert not any(f"Please remember that {FACT}" in text for text in shown), "turn 3 folded"
    assert any(FACT in text and "Summary of the earlier part" in text for text in shown)

    cut = [
        m["content"]
        for r in requests
        for m in r["messages"]
        if m["role"] == "tool" and m["content"].endswith("...")
    ]
    assert cut and all(len(text) <= 303 for text in cut), "older tool outputs were cut"

    entries = [json.loads(e) for e in await redis.lrange(keys.transcript(session_id), 0, -1)]
    users = [e["text"] for e in entries if e["type"] == "user"]
    assert len(users) == TURNS and users[2] == f"Please remember that {FACT}.", "all kept"


async def test_replies_never_wait_for_a_slow_summary(start_session, scripted_llm):
    """The summary request is held; every turn is still answered at once, and the requests keep
    to the budget by leaving the oldest turns out until a summary arrives."""
    summary_held = asyncio.Event()
    scripted_llm.rules.insert(
        0, Rule(r"^Summarise this conversation", reply="late", hold=summary_held)
    )
    budget = ContextBudget(BUDGET)

    def prepare(session) -> None:
        session.userdata.context_budget = budget

    async with start_session(session_id="slow-summary", prepare=prepare) as (session, _):
        async with asyncio.timeout(60):  # a reply held by the summary would wait for ever
            for number in range(1, 41):
                await session.run(user_input=user_turn(number))
        await budget.aclose()
    summary_held.set()  # lets the fake finish the request it holds
    held = [r for r in scripted_llm.requests if r["messages"][0]["content"] == SUMMARY_INSTRUCTIONS]
    assert len(held) == 1, "one summary was asked for (and held), none started beside it"
    answered = [
        r for r in scripted_llm.requests if r["messages"][0]["content"] != SUMMARY_INSTRUCTIONS
    ]
    assert len(answered) >= 40
    assert max(request_tokens(r) for r in answered) <= BUDGET
    assert budget.summary == "", "the summary never arrived, and nobody waited for it"
