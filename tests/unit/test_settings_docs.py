"""docs/configuration.md and .env.example say what the settings classes say.

Both are generated from the classes by `make docs` (scripts/settings_docs.py). The generator is
loaded from its file, as `make docs` runs it, so this test does not depend on scripts/ being
importable. It regenerates both in memory and fails, with the difference, when a committed file
differs; and it checks what the generation must guarantee: every setting is in both places, and
no secret in .env.example could serve in production.
"""

import re
import runpy
import shutil
from pathlib import Path
from typing import get_args

import pytest
from pydantic import SecretStr

from session_api.settings import Settings
from voice_agent.settings import WorkerSettings
from voice_common.settings import MIN_PRODUCTION_SECRET_LENGTH

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
GENERATOR = runpy.run_path(str(REPO / "scripts" / "settings_docs.py"))
FIELDS = {
    name: field for cls in (Settings, WorkerSettings) for name, field in cls.model_fields.items()
}
VARIABLES = sorted(name.upper() for name in FIELDS)
SECRETS = sorted(
    name.upper()
    for name, field in FIELDS.items()
    if field.annotation is SecretStr or SecretStr in get_args(field.annotation)
)


def env_example_values() -> dict[str, str]:
    """NAME -> value of every uncommented `NAME=value` line, quotes removed."""
    values = {}
    for line in (REPO / ".env.example").read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"([A-Z_][A-Z0-9_]*)=(.*)", line)
        if match:
            values[match[1]] = match[2].strip("'")
    return values


def generated_blocks() -> str:
    doc = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    return "".join(re.findall(r"<!-- generated: settings .*?<!-- end generated", doc, re.S))


def test_committed_docs_match_the_settings_classes():
    difference = GENERATOR["drift"](REPO)
    assert not difference, f"{difference}\nThe docs differ from the settings classes: run make docs"


def test_a_hand_edit_of_a_generated_file_is_reported(tmp_path):
    """The check above can fail: a changed default in either file is a difference."""
    (tmp_path / "docs").mkdir()
    shutil.copy(REPO / "docs" / "configuration.md", tmp_path / "docs")
    shutil.copy(REPO / ".env.example", tmp_path)
    assert GENERATOR["drift"](tmp_path) == ""

    env_example = tmp_path / ".env.example"
    env_example.write_text(env_example.read_text().replace("MEMORY_TURNS=12", "MEMORY_TURNS=13"))
    assert "+MEMORY_TURNS=12" in GENERATOR["drift"](tmp_path)

    shutil.copy(REPO / ".env.example", tmp_path)
    doc = tmp_path / "docs" / "configuration.md"
    doc.write_text(
        doc.read_text().replace("| `MEMORY_TURNS` | `12` |", "| `MEMORY_TURNS` | `13` |")
    )
    assert "+| `MEMORY_TURNS` | `12` |" in GENERATOR["drift"](tmp_path)


@pytest.mark.parametrize("variable", VARIABLES)
def test_setting_is_in_env_example_and_configuration_doc(variable):
    assert variable in env_example_values(), f"{variable} missing from .env.example"
    assert f"| `{variable}` |" in generated_blocks(), f"{variable} missing from configuration.md"


@pytest.mark.parametrize("variable", SECRETS)
def test_env_example_holds_no_usable_secret(variable):
    """A secret's value in .env.example is empty or a development placeholder (a short word that
    production refuses), never something that looks like a real key."""
    value = env_example_values()[variable]
    assert value == "" or (
        re.fullmatch(r"[a-z-]+", value) and len(value) < MIN_PRODUCTION_SECRET_LENGTH
    ), f"{variable}={value} in .env.example looks like a real secret"
