"""session-api's logs: voice_common's JSON lines (the worker writes the same shape), with
uvicorn's own loggers sent through them instead of uvicorn's plain text."""

import logging

from voice_common.logs import configure_json_logging


def configure_logging(level: str) -> None:
    configure_json_logging(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)  # our metrics count requests
