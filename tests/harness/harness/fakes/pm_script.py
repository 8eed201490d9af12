"""The conversation script the ScriptedLLM fake follows in agent tests: what a capable LLM
would do for each request (call the right tool with the right arguments, relay its answer)."""

from datetime import date, timedelta

from harness.fakes.scripted_llm import Rule

NEXT_MONTH = (date.today() + timedelta(days=30)).isoformat()
RULES = [
    Rule(r"greet the user", reply="Hello! How can I help with your projects?"),
    Rule(
        r"status of (?:the )?(\w+)",
        tool="get_project_status",
        arguments=lambda m: {"project_name": m.group(1)},
        reply=lambda output: f"Here is the status. {output}",
    ),
    Rule(
        r"list the tasks in (\w+)",
        tool="list_tasks",
        arguments=lambda m: {"project_name": m.group(1)},
        reply=lambda output: output,
    ),
    Rule(
        r"create a task to (.+?) in (\w+) for (\w+)",
        tool="create_task",
        arguments=lambda m: {
            "project_name": m.group(2),
            "title": m.group(1),
            "assignee": m.group(3),
            "due_date": NEXT_MONTH,
        },
        reply=lambda output: output,
    ),
    Rule(
        r"task due yesterday in (\w+)",
        tool="create_task",
        arguments=lambda m: {
            "project_name": m.group(1),
            "title": "Backdated task",
            "due_date": (date.today() - timedelta(days=1)).isoformat(),
        },
        reply=lambda output: f"That did not work: {output}",
    ),
    Rule(
        r"search the docs for (.+)",
        tool="search_documentation",
        arguments=lambda m: {"query": m.group(1)},
        reply=lambda output: output,
    ),
    Rule(r"what did we do last time", reply="Last time we worked on your tasks."),
    Rule(r"\b(?:goodbye|bye)\b", tool="end_call", reply="Goodbye, talk to you soon!"),
    Rule(r"whether they are still there", reply="Are you still there?"),
    Rule(r"you are ending the call", reply="I will end the call now, call again any time."),
]
