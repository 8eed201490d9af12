"""Structured logs: one JSON object per line, in the same shape for every service.

    {"ts": "2026-01-02T10:00:00.123+00:00", "level": "INFO", "logger": "voice_agent",
     "message": "job started", "pid": 4242, "session_id": "...", "room": "voice-..."}

`ts`, `level`, `logger`, `message` and `pid` are always there; every structured field of the
record (`extra=`, and in the worker LiveKit's `JobContext.log_context_fields`) is a top-level
key next to them, so a log search, a test or a benchmark reads fields and never parses message
text. Messages therefore carry no `key=value` text. `pid` is the process the record is about:
the one that wrote it, unless the record names another (LiveKit's supervisor does, about its job
processes). `exc` holds a traceback. Levels are upper case (`ERROR`), as Python names them.
"""

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

CORE_FIELDS = ("ts", "level", "logger", "message")
# The attributes every LogRecord has; anything else on a record is a structured field.
_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", logging.INFO, "", 0, "", None, None).__dict__
) | {"message", "asctime"}


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's structured fields: what `extra=` and log context filters put on it."""
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in _RECORD_ATTRIBUTES and not key.startswith("_") and key not in CORE_FIELDS
    }


class JsonLogFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        traceback = self.formatException(record.exc_info) if record.exc_info else record.exc_text
        if traceback and message.endswith("\n" + traceback):
            # A LiveKit job process sends its records to the worker process with the traceback
            # already appended to the message; it belongs in `exc` only.
            message = message.removesuffix("\n" + traceback)
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
            "pid": record.process,
        }
        entry.update(record_fields(record))
        if traceback:
            entry["exc"] = traceback
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_json_logging(level: str, stream: TextIO = sys.stderr) -> None:
    """Every record of the process to `stream` as one JSON line, from `level` up."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def parse_log_records(text: str) -> list[dict[str, Any]]:
    """The JSON records of a log (one object per line), skipping lines that are not JSON
    objects (a crash's raw traceback, another program's output)."""
    records = []
    for line in text.splitlines():
        if not line.lstrip().startswith("{"):
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def find_log_records(text: str, message: str, **fields: object) -> list[dict[str, Any]]:
    """The records of a log with exactly this `message` and these field values, in order."""
    return [
        record
        for record in parse_log_records(text)
        if record.get("message") == message
        and all(record.get(key) == value for key, value in fields.items())
    ]
