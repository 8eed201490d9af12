"""The deployment files as data, for the static checks in tests/unit: docker-compose.yml parsed,
its variables, services, published ports and environments; the Dockerfiles' instructions,
stages and base images; .env.example's values."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

from harness.paths import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
LIVEKIT_CONFIG = REPO / "livekit.yaml"
WEBHOOK_PATH = "/api/livekit/webhook"

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ...; `$${...}` is an escaped literal.
COMPOSE_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}")


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@functools.cache
def compose() -> dict[str, Any]:
    data = load_yaml(COMPOSE_FILE)
    assert isinstance(data, dict), f"{COMPOSE_FILE.name} must be a YAML mapping"
    return data


def service_names() -> list[str]:
    # Collection must not crash on a broken file: test_compose_matches_the_schema reports it.
    try:
        return sorted(compose().get("services") or {})
    except Exception:
        return []


def compose_dockerfiles() -> dict[str, Path]:
    """service name -> the Dockerfile its `build:` names (relative to its context)."""
    dockerfiles = {}
    for name in service_names():
        build = compose()["services"][name].get("build")
        if build is None:
            continue
        if isinstance(build, str):
            build = {"context": build}
        context = REPO / build.get("context", ".")
        dockerfiles[name] = context / build.get("dockerfile", "Dockerfile")
    return dockerfiles


def all_dockerfiles() -> list[Path]:
    """Every Dockerfile of the project: those compose builds plus any other one in the tree."""
    found = set(compose_dockerfiles().values())
    for pattern in ("Dockerfile", "*/Dockerfile", "*/*/Dockerfile"):
        found.update(p for p in REPO.glob(pattern) if "node_modules" not in p.parts)
    return sorted(found)


def rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def strings(node: Any) -> list[str]:
    """Every string value in a parsed YAML tree (compose interpolates values, not comments)."""
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in strings(item)]
    return [node] if isinstance(node, str) else []


def compose_variable_uses() -> list[tuple[str, str]]:
    """(name, what follows the name) for every ${...} in docker-compose.yml's values."""
    try:
        values = strings(compose())
    except Exception:
        return []
    return [use for value in values for use in COMPOSE_VARIABLE.findall(value)]


SERVICES = service_names()
COMPOSE_VARIABLES = sorted({name for name, _ in compose_variable_uses()})
DOCKERFILES = all_dockerfiles()
DOCKERFILE_IDS = [rel(p) for p in DOCKERFILES]


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
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


def image_pin_problem(image: str) -> str | None:
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


def published_ports(service: dict[str, Any]) -> list[dict[str, str]]:
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


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): str(value) for key, value in env.items()}


def env_example_values() -> dict[str, str]:
    """NAME -> value of every uncommented `NAME=value` line of .env.example (quotes removed)."""
    values = {}
    for line in ENV_EXAMPLE.read_text("utf-8").splitlines():
        match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line.strip())
        if match:
            values[match[1]] = match[2].strip().strip("'\"")
    return values


# NAME=value pairs of an ENV or ARG instruction (key=value form).
ASSIGNMENT = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)(?:=("[^"]*"|\S*))?')


def dockerfile_stages(path: Path) -> list[list[tuple[str, str]]]:
    """The instructions of each stage (the global ARGs before the first FROM are stage 0)."""
    stages: list[list[tuple[str, str]]] = [[]]
    for keyword, arguments in dockerfile_instructions(path):
        if keyword == "FROM":
            stages.append([])
        stages[-1].append((keyword, arguments))
    return stages


def assignments(instructions: list[tuple[str, str]], keyword: str) -> dict[str, str]:
    """NAME -> value set by the `keyword` (ENV or ARG) instructions among `instructions`."""
    found: dict[str, str] = {}
    for kw, arguments in instructions:
        if kw == keyword:
            for name, value in ASSIGNMENT.findall(arguments):
                found[name] = value.strip('"')
    return found


def final_stage_env(path: Path) -> dict[str, str]:
    """The final stage's ENV, with ${ARG} references replaced by the build arguments' defaults."""
    stages = dockerfile_stages(path)
    defaults = assignments(stages[0], "ARG")
    final = stages[-1]
    args = {
        name: value or defaults.get(name, "") for name, value in assignments(final, "ARG").items()
    }
    return {
        name: re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: args.get(m[1], m[0]), value)
        for name, value in assignments(final, "ENV").items()
    }


def profiles(service: str) -> list[str]:
    return list(compose()["services"][service].get("profiles") or [])


OLLAMA_DOCKERFILE = REPO / "services" / "ollama" / "Dockerfile"
WORKER_DOCKERFILE = REPO / "services" / "voice_agent" / "Dockerfile"
