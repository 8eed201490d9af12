"""Every setting the services read is documented, with its name, in both places users look."""

from pathlib import Path

import pytest

from session_api.settings import Settings
from voice_agent.settings import WorkerSettings

REPO = Path(__file__).resolve().parents[2]
VARIABLES = sorted(
    {name.upper() for cls in (Settings, WorkerSettings) for name in cls.model_fields}
)


@pytest.mark.parametrize("variable", VARIABLES)
def test_setting_is_in_env_example_and_configuration_doc(variable):
    env_example = (REPO / ".env.example").read_text()
    assert any(line.lstrip("# ").startswith(f"{variable}=") for line in env_example.splitlines()), (
        f"{variable} missing from .env.example"
    )
    assert f"`{variable}`" in (REPO / "docs" / "configuration.md").read_text()
