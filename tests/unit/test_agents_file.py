"""The agents file: the shipped one holds together and is what session-api offers; a file that
does not hold together stops both services at start with one line that says what is wrong."""

import json
from datetime import date
from pathlib import Path

import pytest
from redis.asyncio import Redis

from harness.processes import refusal
from session_api.settings import Settings
from voice_agent.agents_config import AgentBuilder
from voice_agent.docs_search import DocsIndex
from voice_agent.session_data import SessionData
from voice_common.agents_file import (
    SHIPPED_AGENTS_FILE,
    AgentsFile,
    AgentsFileError,
    ToolName,
    load_agents_file,
)
from voice_common.projects import ProjectStore


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("AGENTS", "AGENTS_FILE"):
        monkeypatch.delenv(name, raising=False)


def agent(agent_id: str, **fields: object) -> dict[str, object]:
    return {
        "id": agent_id,
        "display_name": agent_id.title(),
        "description": "for tests",
        "instructions": "Be brief.",
        **fields,
    }


def write(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "agents.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_the_shipped_file_lists_the_front_desk_and_its_specialists():
    agents = load_agents_file(None)
    front = agents.first
    assert front.id == "pm-agent"
    assert set(front.handoffs) == {"task-intake", "docs-specialist"}
    assert agents.get("docs-specialist").handoffs == ["pm-agent"]


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("{not json", "not JSON (line 1"),
        ({"agents": []}, "agents: List should have at least 1 item"),
        ({"agents": [agent("a", tools=["make_coffee"])]}, "agents.0.tools.0: Input should be"),
        ({"agents": [agent("a", handoffs=["b"])]}, "agent 'a' hands off to b, which the file"),
        ({"agents": [agent("a"), agent("a")]}, "agent ids must be unique: a repeated"),
        ({"agents": [agent("a", colour="red")]}, "agents.0.colour: Extra inputs"),
        (
            {"agents": [agent("a"), agent("b", kind="task_intake")]},
            "agent 'b' is a task_intake: it returns to its caller",
        ),
        (
            {
                "agents": [
                    agent("a"),
                    agent("b", kind="task_intake", startable=False, tools=["end_call"]),
                ]
            },
            "cannot be startable, hand off or list tools",
        ),
        ({"agents": [agent("a", startable=False)]}, "no agent is startable"),
    ],
)
def test_a_file_that_does_not_hold_together_says_where(tmp_path, content, complaint):
    path = write(tmp_path, content)
    with pytest.raises(AgentsFileError) as caught:
        load_agents_file(path)
    assert str(caught.value).startswith(f"agents file {path}: ")
    assert complaint in str(caught.value)


def test_a_missing_file_is_named():
    with pytest.raises(AgentsFileError, match=r"agents file /nowhere/agents.json: cannot be read"):
        load_agents_file(Path("/nowhere/agents.json"))


@pytest.mark.parametrize("command", [["session_api"], ["voice_agent", "start"]])
def test_services_refuse_to_start_with_a_broken_agents_file(command, tmp_path):
    path = write(tmp_path, {"agents": [agent("a", handoffs=["ghost"])]})
    line = refusal(command, {"AGENTS_FILE": str(path)}, tmp_path)
    assert "refusing to start" in line
    assert "hands off to ghost" in line


def test_session_api_offers_the_files_startable_agents(monkeypatch, tmp_path):
    registry = Settings().agents
    assert set(registry) == {"pm-agent", "docs-specialist"}, "the intake is not startable"
    assert registry["docs-specialist"].display_name == "Documentation specialist"
    assert {entry.agent_name for entry in registry.values()} == {"pm-agent"}

    path = write(tmp_path, {"worker_agent_name": "w", "agents": [agent("solo", language="hi-IN")]})
    monkeypatch.setenv("AGENTS_FILE", str(path))
    [(agent_id, entry)] = Settings().agents.items()
    assert (agent_id, entry.agent_name, entry.default_language) == ("solo", "w", "hi-IN")


def test_an_explicit_registry_still_routes_on_its_own(monkeypatch):
    monkeypatch.setenv("AGENTS", '{"sales": {"agent_name": "sales-agent"}}')
    assert list(Settings().agents) == ["sales"]


def builder(
    agents: AgentsFile | None = None, language: str = "en-US", tts: object = None
) -> AgentBuilder:
    return AgentBuilder(
        agents=agents or load_agents_file(SHIPPED_AGENTS_FILE),
        projects=ProjectStore(Redis()),  # never connected: building agents reads nothing
        docs=DocsIndex([]),
        data=SessionData(session_id="s", user_id="u", language=language),
        today=date(2026, 12, 2),
        memory=["[2026-12-01] user: hello"],
        filler_delay=1.0,
        tts=tts,  # type: ignore[arg-type]
    )


def test_each_agent_gets_the_files_tools_and_one_tool_per_handoff():
    agents = builder()
    front = agents.start("pm-agent")
    names = {tool.info.name for tool in front.tools}
    assert names == {t.value for t in ToolName} | {
        "start_task_intake",
        "transfer_to_docs_specialist",
    }
    specialist = agents.start("docs-specialist")
    assert {tool.info.name for tool in specialist.tools} == {
        "search_documentation",
        "end_call",
        "transfer_to_pm_agent",
    }
    assert "Today is 2026-12-02" in specialist.instructions
    assert specialist.instructions.endswith("[2026-12-01] user: hello"), "memory follows"


def test_an_unknown_or_unstartable_agent_id_starts_the_first_agent():
    agents = builder()
    assert agents.start(None).id == "pm-agent"
    assert agents.start("drain-agent").id == "pm-agent", "a routing-only id of AGENTS"
    assert agents.start("task-intake").id == "pm-agent", "the intake only runs when called"


def test_the_documented_example_is_a_valid_agents_file(tmp_path):
    doc = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
    section = doc.read_text().split("## The agents file", 1)[1]
    example = section.split("```json", 1)[1].split("```", 1)[0]
    agents = load_agents_file(write(tmp_path, example))
    assert [a.id for a in agents.agents] == ["pm-agent", "docs-specialist", "task-intake"]


def test_an_agent_with_its_own_voice_gets_its_own_tts():
    built: list[tuple[str | None, str]] = []

    def tts(voice: str | None, language: str) -> object:
        built.append((voice, language))
        return object()

    file = load_agents_file(SHIPPED_AGENTS_FILE)
    specialist = file.get("docs-specialist")
    assert specialist is not None
    specialist.voice = "nova"
    agents = builder(file, tts=tts)
    agents.start("pm-agent")
    assert built == [], "the session's voice: no TTS of its own"
    assert agents.start("docs-specialist").tts is not None
    assert built == [("nova", "en-US")]


def test_the_shipped_agents_speak_the_sessions_language():
    built: list[tuple[str | None, str]] = []
    agents = builder(language="hi-IN", tts=lambda voice, language: built.append((voice, language)))
    for agent_id in ("pm-agent", "docs-specialist"):
        assert "Speak Hindi." in agents.start(agent_id).instructions
    assert built == [], "the session's TTS, in the session's language"
