"""The agent's behaviour: an AgentSession with no room, real Redis data, real tools, and the
ScriptedLLM fake behind the real OpenAI plugin (`LLM_PROVIDER=openai_compatible`); the
fixtures are in this folder's conftest."""

import json
from datetime import UTC, datetime

from livekit.agents.voice.run_result import RunResult

from harness.fakes.pm_script import NEXT_MONTH
from voice_common import redis_keys as keys
from voice_common.projects import ProjectStore


def one_tool_turn(
    result: RunResult, name: str, arguments: dict | None = None, *, is_error: bool = False
) -> tuple[str, str]:
    """The whole run is one tool call, its output and one spoken answer, nothing else; returns
    the tool's output and the answer's text. `arguments`, when given, must match exactly:
    LiveKit's `is_function_call(arguments=...)` would accept extra keys."""
    call = result.expect.next_event().is_function_call(name=name)
    if arguments is not None:
        assert json.loads(call.event().item.arguments) == arguments
    output = result.expect.next_event().is_function_call_output(is_error=is_error)
    answer = result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()
    return output.event().item.output, answer.event().item.text_content or ""


async def test_project_status_calls_the_tool_and_answers_with_redis_data(start_session, redis):
    status = await ProjectStore(redis).project_status("Apollo")
    async with start_session() as (session, _):
        result = await session.run(user_input="What's the status of Apollo?")
    _, reply = one_tool_turn(result, "get_project_status", {"project_name": "Apollo"})
    assert f"Apollo is {status.project.status.replace('_', ' ')}" in reply
    assert status.upcoming and all(task.title in reply for task in status.upcoming)


async def test_create_task_is_stored_with_its_user_and_listed_by_the_api(start_session, client):
    async with start_session(user_id="maria") as (session, _):
        result = await session.run(
            user_input="Please create a task to review the launch checklist in Apollo for Priya"
        )
    output, _ = one_tool_turn(result, "create_task")
    assert "review the launch checklist" in output
    tasks = (await client.get("/api/projects/apollo/tasks")).json()["tasks"]
    [task] = [t for t in tasks if t["title"] == "review the launch checklist"]
    assert task["assignee"] == "Priya"
    assert task["due_date"] == NEXT_MONTH
    assert task["created_by"] == "maria", "the session's userdata reaches the tool"


async def test_unknown_project_is_a_tool_error_with_suggestions(start_session):
    async with start_session() as (session, _):
        result = await session.run(user_input="What's the status of Apolo?")
    output, reply = one_tool_turn(result, "get_project_status", is_error=True)
    assert "Did you mean: Apollo" in output
    assert "Did you mean: Apollo" in reply


async def test_invalid_arguments_become_an_error_the_llm_relays(start_session):
    async with start_session() as (session, _):
        result = await session.run(user_input="Add a task due yesterday in Apollo")
    output, reply = one_tool_turn(result, "create_task", is_error=True)
    assert "in the past" in output
    assert "in the past" in reply


async def test_documentation_search_answers_with_the_source_file(start_session):
    async with start_session() as (session, _):
        result = await session.run(user_input="Search the docs for webhook signature")
    _, reply = one_tool_turn(result, "search_documentation")
    assert "architecture.md" in reply


async def test_every_turn_and_tool_call_is_recorded_in_order(start_session, redis):
    session_id = "recorded-session"
    await redis.delete(keys.transcript(session_id))
    async with start_session(session_id=session_id) as (session, recorder):
        await session.run(user_input="What's the status of Atlas?")
    entries = [json.loads(e) for e in await redis.lrange(keys.transcript(session_id), 0, -1)]
    kinds = [e["type"] for e in entries]
    assert kinds == ["agent", "user", "tool", "agent"], "greeting, question, tool, answer"
    assert entries[2]["name"] == "get_project_status"
    assert entries[2]["arguments"] == {"project_name": "Atlas"}
    assert all(e["at"] for e in entries)
    assert "llm_ttft" in entries[3]["latency"]
    assert recorder.stats.summary()["tool_calls"] == 1


async def test_a_new_session_starts_with_the_previous_sessions_context(
    start_session, redis, scripted_llm
):
    user_id = f"memory-{datetime.now(UTC).timestamp()}"
    earlier = "earlier-session-of-memory-user"
    await redis.zadd(keys.user_sessions(user_id), {earlier: 1})
    await redis.rpush(
        keys.transcript(earlier),
        json.dumps({
            "type": "user", "text": "Create a task for the Mercury beta", "at": "2026-11-20",
        }),
        json.dumps({
            "type": "tool", "name": "create_task", "is_error": False, "at": "2026-11-20",
            "arguments": {"project_name": "Mercury"}, "output": "Created task T-99 in Mercury.",
        }),
    )  # fmt: skip
    async with start_session(user_id=user_id, session_id="memory-now") as (session, _):
        await session.run(user_input="What did we do last time?")
    system = scripted_llm.requests[-1]["messages"][0]
    assert system["role"] == "system"
    assert "[2026-11-20] user: Create a task for the Mercury beta" in system["content"]
    assert "Created task T-99 in Mercury." in system["content"]


async def test_each_project_tool_looks_the_project_up_once(start_session, monkeypatch):
    """A tool resolves the spoken name once and hands the Project on: every lookup lists all
    projects, so a second one doubles a tool's Redis work."""
    lookups = 0
    list_projects = ProjectStore.list_projects

    async def counted(self: ProjectStore) -> list:
        nonlocal lookups
        lookups += 1
        return await list_projects(self)

    monkeypatch.setattr(ProjectStore, "list_projects", counted)
    requests = {
        "get_project_status": "What's the status of Apollo?",
        "list_tasks": "List the tasks in Apollo",
        "create_task": "Please create a task to count the lookups in Apollo for Priya",
    }
    async with start_session() as (session, _):
        for tool, request in requests.items():
            lookups = 0
            result = await session.run(user_input=request)
            output, _ = one_tool_turn(result, tool)
            assert "Apollo" in output
            assert lookups == 1, f"{tool} listed the projects {lookups} times"
