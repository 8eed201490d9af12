"""The web client's API types are the session API's: the committed OpenAPI schema is the one the
app serves, and the committed TypeScript is what the pinned openapi-typescript makes of it.

Both are regenerated with `cd frontend && npm run gen:api`; these tests fail when either was
forgotten (or edited by hand).
"""

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from session_api import openapi
from voice_common.transcript import LATENCY_STAGES

pytestmark = pytest.mark.unit

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
GENERATED = FRONTEND / "src" / "generated"
REGENERATE = "regenerate with `cd frontend && npm run gen:api` and commit the result"


def test_the_committed_schema_is_the_one_the_app_serves() -> None:
    committed = (GENERATED / "openapi.json").read_text(encoding="utf-8")
    assert openapi.render() == committed, f"src/generated/openapi.json is stale: {REGENERATE}"


@pytest.mark.parametrize(("argv", "code"), [(["--help"], 0), (["-x"], 2), (["a", "b"], 2)])
def test_the_export_takes_an_option_for_no_path(
    argv: list[str], code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert openapi.main(argv) == code
    assert list(tmp_path.iterdir()) == []


def test_the_schema_documents_every_transcript_entry_and_latency_stage() -> None:
    schemas = openapi.schema()["components"]["schemas"]
    entries = schemas["SessionState"]["properties"]["transcript"]["items"]
    assert entries["discriminator"]["propertyName"] == "type"
    assert set(entries["discriminator"]["mapping"]) == {"user", "agent", "tool"}
    assert tuple(schemas["LatencyStages"]["properties"]) == LATENCY_STAGES


def _openapi_typescript() -> None:
    """Fail in CI, skip elsewhere, without node or the frontend's pinned openapi-typescript."""
    problem = None
    if shutil.which("npx") is None:
        problem = "npx not found: install Node.js, then `cd frontend && npm ci`"
    elif not (FRONTEND / "node_modules" / ".bin" / "openapi-typescript").exists():
        problem = "frontend/node_modules is missing: run `cd frontend && npm ci`"
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(problem)
    pytest.skip(problem)


def test_the_committed_typescript_is_generated_from_the_schema(tmp_path: Path) -> None:
    _openapi_typescript()
    (tmp_path / "openapi.json").write_text(openapi.render(), encoding="utf-8")
    # package.json's own command (its options in one place), reading and writing in tmp_path.
    script = json.loads((FRONTEND / "package.json").read_text())["scripts"]["gen:api:types"]
    command = shlex.split(script.replace("src/generated/", f"{tmp_path}/"))
    assert command[0] == "openapi-typescript" and str(tmp_path) in command[-1], script

    subprocess.run(
        ["npx", "--no-install", *command],
        cwd=FRONTEND,
        check=True,
        capture_output=True,
        timeout=120,
    )

    generated = (tmp_path / "api-types.ts").read_text(encoding="utf-8")
    committed = (GENERATED / "api-types.ts").read_text(encoding="utf-8")
    assert generated == committed, f"src/generated/api-types.ts is stale: {REGENERATE}"
