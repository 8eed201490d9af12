"""Extra ScriptedLLM rules for spoken conversations (the voice checklist and the benchmarks).

They only answer sentences the project-management script (`pm_script.RULES`) does not: a long
answer to interrupt, and a short plain answer (no tool call) to time turns with.
`RULES` is the project script followed by these.
"""

from harness.fakes.pm_script import RULES as PM_RULES
from harness.fakes.scripted_llm import Rule

# About 25 s of speech: long enough to interrupt mid-sentence.
LONG_ANSWER = (
    "The Apollo roadmap has four phases. First, the design system is finished and every page "
    "template is moved onto it, which takes most of December. Second, the blog and the help "
    "center are migrated to the new content management system, with redirects for every "
    "retired address. Third, the checkout pages get an accessibility audit and the fixes it "
    "asks for. Finally, the new content delivery network is load tested before the launch in "
    "February."
)
LONG_QUESTION = "Tell me about the Apollo roadmap."

# A plain question and answer (no tool): what benchmarks time, turn after turn.
BENCH_QUESTION = "How are the projects going?"
BENCH_ANSWER = "All projects are on track. Apollo ships in February."

VOICE_RULES = [
    Rule(r"road ?map", reply=LONG_ANSWER),
    Rule(r"projects going", reply=BENCH_ANSWER),
]

RULES = [*PM_RULES, *VOICE_RULES]

# Every fixed reply, so a speech fake can prepare their audio ahead of the first request.
FIXED_REPLIES = [r.reply for r in RULES if isinstance(r.reply, str)]
