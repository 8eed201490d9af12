"""`python -m voice_agent start|dev|console`: LiveKit Agents' CLI around our AgentServer."""

import sys

from livekit.agents import cli
from pydantic import ValidationError

from .console import console_problem
from .settings import WorkerSettings


def main() -> int:
    try:
        settings = WorkerSettings()
    except ValidationError as exc:
        problems = "; ".join(err["msg"].removeprefix("Value error, ") for err in exc.errors())
        print(f"voice-agent-worker: refusing to start: {problems}", file=sys.stderr)
        return 2
    problem = console_problem(sys.argv)
    if problem:
        print(f"voice-agent-worker: {problem}", file=sys.stderr)
        return 2
    from .worker import build_server

    cli.run_app(build_server(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
