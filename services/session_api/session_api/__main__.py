"""`python -m session_api`: validate the settings, then serve with uvicorn."""

import sys

import uvicorn
from pydantic import ValidationError

from .logging_setup import configure_logging
from .settings import Settings


def main() -> int:
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(err["msg"].removeprefix("Value error, ") for err in exc.errors())
        print(f"session-api: refusing to start: {problems}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    uvicorn.run(
        "session_api.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.web_concurrency,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_config=None,
        access_log=False,
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
