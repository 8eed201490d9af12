"""Console mode's log filter: a provider's failure reads as one line in the terminal, any other
record and traceback as LiveKit shows them."""

import logging
import sys

from livekit.agents import APIConnectionError

from voice_agent.console import ConsoleLogFilter, console_problem


def record(level: int, message: str, exc: BaseException | None = None, **extra: object):
    exc_info = None
    if exc is not None:
        try:
            raise exc
        except BaseException:
            exc_info = sys.exc_info()
    made = logging.LogRecord("t", level, __file__, 1, message, None, exc_info)
    made.__dict__.update(extra)
    return made


def test_a_retry_warning_is_dropped_and_other_warnings_kept() -> None:
    retry = record(logging.WARNING, "failed to generate LLM completion, retrying", attempt=1)
    other = record(logging.WARNING, "event loop blocked for 165ms")
    assert ConsoleLogFilter().filter(retry) is False
    assert ConsoleLogFilter().filter(other) is True


def test_a_provider_error_keeps_its_line_and_loses_its_traceback() -> None:
    failed = record(logging.ERROR, "provider failed", APIConnectionError(), kind="llm_error")
    assert ConsoleLogFilter().filter(failed) is True
    assert failed.exc_info is None and failed.getMessage() == "provider failed"
    assert failed.__dict__["kind"] == "llm_error"


def test_any_other_exception_keeps_its_traceback() -> None:
    bug = record(logging.ERROR, "error in a tool", KeyError("project"))
    assert ConsoleLogFilter().filter(bug) is True
    assert bug.exc_info is not None and isinstance(bug.exc_info[1], KeyError)


def test_only_console_is_checked_for_portaudio() -> None:
    assert console_problem(["voice_agent", "start"]) is None
    assert console_problem(["voice_agent", "dev"]) is None
