"""`python -m session_api.openapi [PATH]`: the API's OpenAPI schema as JSON, to PATH or stdout.

The web client's API types are generated from it (`npm run gen:api` in frontend/, which runs
this); `tests/unit/test_api_types.py` fails when the committed copies drift from the app.
"""

import json
import sys
from pathlib import Path
from typing import Any

from .main import create_app
from .settings import Settings


def schema() -> dict[str, Any]:
    """The schema the app serves at /openapi.json. Settings do not shape it, so the defaults
    are used as they are, without reading the environment or `.env`."""
    return create_app(Settings.model_construct()).openapi()


def render() -> str:
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        # An option is never a path: `--help` once wrote the schema to a file named "--help".
        sys.stdout.write(__doc__ or "")
        return 0 if argv[0] in ("-h", "--help") else 2
    text = render()
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
