"""Console mode (`python -m voice_agent console [--text]`): talking to the agent in a terminal.

Two things differ from a worker's logs, both for a person reading the terminal:

- Before it starts: LiveKit's console loads PortAudio (through sounddevice) even for typing, and
  without the library it ends in a traceback that does not say what to install. The worker
  checks first and says it in one line (`console_problem`).
- While it runs: a provider failure is one plain line between the user's question and the
  agent's apology (`ConsoleLogFilter`), not LiveKit's retry warnings and a page of traceback.
  `start` and `dev` keep every record and traceback in their logs.
"""

import logging

from livekit.agents import APIError

NO_PORTAUDIO = (
    "console mode needs the PortAudio library, also with --text (LiveKit's console loads it to "
    "check the audio devices): install it with `apt-get install libportaudio2`, or run "
    "`make setup`"
)


def console_problem(argv: list[str]) -> str | None:
    """What stops `console` before it starts, as one line; None for the other commands."""
    if argv[1:2] != ["console"]:
        return None
    try:
        import sounddevice  # noqa: F401
    except OSError:
        return NO_PORTAUDIO
    return None


class ConsoleLogFilter(logging.Filter):
    """On the console's log handler: a provider's failure as one line.

    LiveKit's warning before each retry carries an `attempt` field and is dropped: the final
    failure follows ("provider failed", from `TroubleNotifier`, naming the error). A provider
    error's traceback (a LiveKit `APIError`) is dropped from the record, its text stays. Any
    other record, and any other exception's traceback, is shown as LiveKit shows it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if hasattr(record, "attempt") and record.levelno == logging.WARNING:
            return False
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, APIError):
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_provider_errors() -> None:
    """Put `ConsoleLogFilter` on the handlers LiveKit's console installed (the root's)."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(ConsoleLogFilter())
