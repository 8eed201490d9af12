"""Specialist agents of the shipped agents file and their handoffs: the front desk hands over
to the documentation specialist and gets the conversation back with its context, and the task
intake (an AgentTask) collects a task, asks only for what is missing, and lets the front desk
create it only after a yes. An AgentSession with no room against the ScriptedLLM fake (the
fixtures are in this folder's conftest); the transcript in Redis names the agent of each turn."""

import json

from harness.fakes.pm_script import NEXT_MONTH
from voice_common import redis_keys as keys
from voice_common.projects import ProjectStore


def system_prompt(request: dict) -> str:
    return next(m["content"] for m in request["messages"] if m["role"] == "system")


def said(request: dict) -> list[str]:
    """What the LLM was shown of the conversation (user and assistant text)."""
    return [
        m["content"]
        for m in request["messages"]
        if m["role"] in ("user", "assistant") and isinstance(m.get("content"), str)
    ]


async def test_docs_specialist_takes_over_with_the_context_and_hands_back(
    start_session, scripted_llm, redis
):
    session_id = "handoff-docs"
    await redis.delete(keys.transcript(session_id))
    async with start_session(session_id=session_id) as (session, _):
        await session.run(user_input="What's the status of Apollo?")
        result = await session.run(user_input="Let me talk to the documentation specialist")
        result.expect.contains_function_call(name="transfer_to_docs_specialist")
        assert session.current_agent.id == "docs-specialist"

        result = await session.run(user_input="How are webhook signatures verified?")
        result.expect.contains_function_call(name="search_documentation")
        answer = result.expect[-1].is_message(role="assistant").event().item.text_content
        assert "architecture.md" in (answer or ""), "the answer names its source"
        request = scripted_llm.requests[-1]
        assert "documentation specialist" in system_prompt(request)
        assert "project-management assistant" not in system_prompt(request), "its own prompt"
        assert "What's the status of Apollo?" in said(request), "the context carried over"

        result = await session.run(user_input="Thanks, back to my projects")
        result.expect.contains_function_call(name="transfer_to_pm_agent")
        assert session.current_agent.id == "pm-agent"
        assert "How are webhook signatures verified?" in said(scripted_llm.requests[-1])

    entries = [json.loads(e) for e in await redis.lrange(keys.transcript(session_id), 0, -1)]
    spoken_by = [(e["agent"], e["text"]) for e in entries if e["type"] == "agent"]
    assert spoken_by[0][0] == "pm-agent", "the greeting"
    assert ("docs-specialist", answer) in spoken_by
    assert spoken_by[-1] == ("pm-agent", "Hello! How can I help with your projects?")
    tools = {e["name"]: e["agent"] for e in entries if e["type"] == "tool"}
    assert tools["search_documentation"] == "docs-specialist"


async def test_a_session_can_start_with_the_specialist(start_session):
    async with start_session(agent_id="docs-specialist") as (session, _):
        assert session.current_agent.id == "docs-specialist"
        greeting = session.history.messages()[-1].text_content
        assert greeting == "Documentation specialist here. What would you like to know?"


async def intake_until_read_back(session, project_store: ProjectStore, title: str) -> None:
    """The intake, up to the read-back: each answer gives some details, the intake asks only
    for those still missing; nothing exists before the user confirms."""
    result = await session.run(user_input="I need a new task")
    result.expect.contains_function_call(name="start_task_intake")
    assert session.current_agent.id == "task-intake"

    result = await session.run(user_input=f"It is for Apollo, titled {title}")
    output = result.expect.contains_function_call_output().event().item.output
    assert "Still missing: assignee, due date." in output, "asks only for what is missing"

    result = await session.run(user_input=f"Assign it to Priya, due {NEXT_MONTH}")
    reply = result.expect[-1].is_message(role="assistant").event().item.text_content or ""
    assert f"'{title}' in Apollo, assigned to Priya, due {NEXT_MONTH}" in reply, "read back"
    assert "Shall I create it?" in reply
    tasks = await project_store.list_tasks(await project_store.find_project("Apollo"))
    assert title not in [t.title for t in tasks], "nothing created before the user confirms"


async def test_task_intake_creates_the_task_only_after_yes(start_session, redis):
    store = ProjectStore(redis)
    title = "write the intake release notes"
    session_id = "intake-yes"
    await redis.delete(keys.transcript(session_id))
    async with start_session(user_id="intake-user", session_id=session_id) as (session, _):
        await intake_until_read_back(session, store, title)
        result = await session.run(user_input="Yes, create it")
        result.expect.contains_function_call(name="confirm_task")
        assert session.current_agent.id == "pm-agent", "back at the front desk"
        answer = result.expect[-1].is_message(role="assistant").event().item.text_content
        assert f"'{title}'" in (answer or "") and "Created task" in (answer or "")
    tasks = await store.list_tasks(await store.find_project("Apollo"))
    [task] = [t for t in tasks if t.title == title]
    assert (task.assignee, task.due_date.isoformat() if task.due_date else None) == (
        "Priya",
        NEXT_MONTH,
    )
    assert task.created_by == "intake-user"

    entries = [json.loads(e) for e in await redis.lrange(keys.transcript(session_id), 0, -1)]
    tools = [(e["agent"], e["name"]) for e in entries if e["type"] == "tool"]
    assert tools == [
        ("task-intake", "record_task_details"),
        ("task-intake", "record_task_details"),
        ("task-intake", "confirm_task"),
        ("pm-agent", "start_task_intake"),
    ], "the intake's tools are its own; the front desk's call ends when the intake returns"


async def test_task_intake_creates_nothing_on_no(start_session, redis):
    store = ProjectStore(redis)
    title = "a task the user turns down"
    async with start_session() as (session, _):
        await intake_until_read_back(session, store, title)
        result = await session.run(user_input="No, forget it")
        result.expect.contains_function_call(name="cancel_task")
        assert session.current_agent.id == "pm-agent"
        answer = result.expect[-1].is_message(role="assistant").event().item.text_content
        assert "nothing was created" in (answer or "")
    tasks = await store.list_tasks(await store.find_project("Apollo"))
    assert title not in [t.title for t in tasks]


async def test_task_intake_refuses_a_yes_before_the_task_is_complete(start_session):
    async with start_session() as (session, _):
        await session.run(user_input="I need a new task")
        result = await session.run(user_input="Yes")
        output = result.expect.contains_function_call_output(is_error=True).event().item.output
        assert "still missing project, title, assignee, due date" in output
        assert session.current_agent.id == "task-intake", "the intake goes on"
