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
    # handoffs: to the documentation specialist and back (greetings first: they name it)
    Rule(
        r"you are the documentation specialist",
        reply="Documentation specialist here. What would you like to know?",
    ),
    Rule(
        r"details of the new task that are still missing",
        reply="Sure. Which project, what title, who does it and by when?",
    ),
    Rule(r"documentation specialist\b", tool="transfer_to_docs_specialist"),
    Rule(
        r"how are (webhook[^?]*)\??$",  # narrow: "How are the projects going?" is the bench's
        tool="search_documentation",
        arguments=lambda m: {"query": m.group(1)},
        reply=lambda output: output,
    ),
    Rule(r"back to (?:my )?projects", tool="transfer_to_pm_agent"),
    # the task intake (greeting above): collected, read back, confirmed or declined
    Rule(r"\bnew task\b", tool="start_task_intake", reply=lambda output: output),
    Rule(
        r"it is for (\w+), titled (.+)$",
        tool="record_task_details",
        arguments=lambda m: {"project_name": m.group(1), "title": m.group(2)},
        reply=lambda output: f"{output} Shall I create it?" if "Complete" in output else output,
    ),
    Rule(
        r"assign it to (\w+), due (\S+)$",
        tool="record_task_details",
        arguments=lambda m: {"assignee": m.group(1), "due_date": m.group(2)},
    ),  # the reply: the rule above's (the first rule for a tool answers its result)
    Rule(r"^yes\b", tool="confirm_task", reply=lambda output: output),
    Rule(r"^no\b", tool="cancel_task", reply=lambda output: output),
    # endings
    Rule(r"\b(?:goodbye|bye)\b", tool="end_call", reply="Goodbye, talk to you soon!"),
    Rule(r"whether they are still there", reply="Are you still there?"),
    Rule(r"you are ending the call", reply="I will end the call now, call again any time."),
]
