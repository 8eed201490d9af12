"""Static checks of docker-compose.yml and its `local` profile: every service reports health and
waits for its dependencies' health, images are pinned, variables have defaults documented in
.env.example, nothing private is published. The compose CLI itself validates the file, and the
stack runs for real, in tests/compose/.
"""

import re
from urllib.parse import urlsplit

import pytest

from harness.deployment_files import (
    COMPOSE_VARIABLES,
    ENV_EXAMPLE,
    OLLAMA_DOCKERFILE,
    SERVICES,
    WORKER_DOCKERFILE,
    assignments,
    compose,
    compose_dockerfiles,
    compose_variable_uses,
    dockerfile_instructions,
    dockerfile_stages,
    env_example_values,
    environment,
    final_stage_env,
    image_pin_problem,
    profiles,
    published_ports,
)

# ---------------------------------------------------------------------------------------------
# docker-compose.yml
# ---------------------------------------------------------------------------------------------


def test_compose_has_no_obsolete_version_key() -> None:
    assert "version" not in compose(), "the compose spec dropped the top-level `version:` key"


def test_compose_defines_the_stack() -> None:
    expected = {"livekit", "redis", "session-api", "voice-agent-worker", "web"}
    assert expected <= set(SERVICES), f"missing services: {sorted(expected - set(SERVICES))}"


def test_every_compose_variable_has_a_default() -> None:
    uses = compose_variable_uses()
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
        problem = image_pin_problem(definition["image"])
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
    if environment(definition).get("FORWARDED_ALLOW_IPS") != "*":
        return
    exposed = [p for p in published_ports(definition) if p["host_ip"] not in ("127.0.0.1", "::1")]
    assert not exposed, (
        f"service {service} trusts X-Forwarded-For from anyone, so its ports must be published on "
        f"the host's loopback only; these are not: {exposed}"
    )


def test_redis_and_worker_ports_are_not_published() -> None:
    """Redis (no password) and the worker's health and metrics endpoints stay on the compose
    network (docs/security.md): neither service publishes a port, nor does any other for them."""
    internal = {"6379", "8081", "9100"}
    for service in ("redis", "voice-agent-worker"):
        ports = published_ports(compose()["services"][service])
        assert not ports, f"service {service} publishes {ports}"
    for service in SERVICES:
        targets = {p["target"] for p in published_ports(compose()["services"][service])}
        assert not targets & internal, f"service {service} publishes {sorted(targets & internal)}"


def test_compose_defaults_match_env_example() -> None:
    """`cp .env.example .env` must change nothing: each ${VAR:-default} in docker-compose.yml
    defaults to the value .env.example gives VAR. A value meant for native runs (an address on
    127.0.0.1, say) must therefore stay out of ${...}: container addresses are fixed in compose."""
    example = env_example_values()
    defaults = {  # the tail is ":-default" or "-default"
        (name, tail.split("-", 1)[1])
        for name, tail in compose_variable_uses()
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
    if profiles(service):
        return
    depends_on = compose()["services"][service].get("depends_on") or {}
    profiled = [name for name in depends_on if name in SERVICES and profiles(name)]
    assert not profiled, f"service {service} depends on {profiled}, which run only with a profile"


# ---------------------------------------------------------------------------------------------
# The `local` profile: no API keys (Ollama + Whisper + Piper)
# ---------------------------------------------------------------------------------------------


def test_ollama_runs_with_the_local_profile_only() -> None:
    assert "ollama" in SERVICES, "the `local` profile needs an ollama service"
    ollama = compose()["services"]["ollama"]
    assert profiles("ollama") == ["local"], "ollama must run with the `local` profile only"
    assert not published_ports(ollama), (
        "ollama's API has no authentication: the worker reaches it inside compose, so it must "
        "not be published on the host"
    )
    test = (ollama.get("healthcheck") or {}).get("test") or []
    assert "ollama" in " ".join(map(str, test)), "ollama's healthcheck should ask the ollama CLI"


def test_ollama_image_is_pinned_upstream_with_the_model_pulled_at_build() -> None:
    ollama = compose()["services"]["ollama"]
    if "image" in ollama and "build" not in ollama:
        pytest.fail("ollama must be built (services/ollama/Dockerfile) to pull its model at build")
    assert compose_dockerfiles()["ollama"].resolve() == OLLAMA_DOCKERFILE.resolve()
    instructions = dockerfile_instructions(OLLAMA_DOCKERFILE)
    bases = [args.split()[0] for keyword, args in instructions if keyword == "FROM"]
    assert bases and all(base.startswith("ollama/ollama:") for base in bases), bases
    assert all(image_pin_problem(base) is None for base in bases), bases
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
    asked = environment(compose()["services"]["voice-agent-worker"]).get("LLM_COMPATIBLE_MODEL", "")
    assert baked and baked == asked, f"ollama pulls {baked!r}, the worker asks for {asked!r}"
    healthcheck = " ".join(map(str, compose()["services"]["ollama"]["healthcheck"]["test"]))
    assert asked in healthcheck, "ollama's healthcheck should check the model the worker asks for"
    dockerfile_default = assignments(dockerfile_stages(OLLAMA_DOCKERFILE)[0], "ARG")
    assert dockerfile_default.get("OLLAMA_MODEL") == env_example_values()["LLM_COMPATIBLE_MODEL"]


def test_ollama_models_are_not_hidden_by_a_volume() -> None:
    """The model lives in the image layer; a volume mounted over it would be filled from the
    image only when first created, and then hide the model of every later rebuild."""
    models_dir = final_stage_env(OLLAMA_DOCKERFILE).get("OLLAMA_MODELS")
    assert models_dir, "services/ollama/Dockerfile must set OLLAMA_MODELS in its final stage"
    for volume in compose()["services"]["ollama"].get("volumes") or []:
        target = volume.get("target") if isinstance(volume, dict) else str(volume).split(":")[1]
        target = str(target).rstrip("/")
        assert not (models_dir + "/").startswith(target + "/"), (
            f"volume {volume} hides {models_dir}"
        )


def test_worker_reaches_ollama_and_falls_back_to_local_providers() -> None:
    env = environment(compose()["services"]["voice-agent-worker"])
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
    env = final_stage_env(WORKER_DOCKERFILE)
    whisper, piper = env.get("WHISPER_MODEL", ""), env.get("PIPER_VOICE", "")
    assert whisper.startswith("/models/whisper/") and "$" not in whisper, (
        f"the worker image must set WHISPER_MODEL to its downloaded model, not {whisper!r}"
    )
    assert piper.startswith("/models/piper/") and piper.endswith(".onnx") and "$" not in piper, (
        f"the worker image must set PIPER_VOICE to its downloaded .onnx voice, not {piper!r}"
    )
    stages = dockerfile_stages(WORKER_DOCKERFILE)
    runs = " ".join(args for stage in stages for keyword, args in stage if keyword == "RUN")
    assert "download_model(" in runs and "piper.download_voices" in runs, (
        "the worker image must download the Whisper model and the Piper voice at build time"
    )
    copies = [args for keyword, args in stages[-1] if keyword == "COPY" and "/models" in args]
    assert any("--chown=" in args for args in copies), (
        "the models must be owned by the runtime user (COPY --chown)"
    )
    # Compose must not override the image's paths (an empty ${WHISPER_MODEL:-} would do that).
    worker_env = environment(compose()["services"]["voice-agent-worker"])
    overridden = {"WHISPER_MODEL", "PIPER_VOICE"} & set(worker_env)
    assert not overridden, f"compose overrides the worker image's {sorted(overridden)}"


def test_worker_gets_every_provider_key_and_endpoint_from_the_environment() -> None:
    """A user's `.env` reaches the worker container only through the variables compose lists:
    each cloud provider's key and its proxy / self-hosted endpoint must be among them."""
    from voice_agent.settings import KEY_OF, WorkerSettings

    cloud = {key.removesuffix("_api_key") for key in KEY_OF.values()}  # deepgram, openai, sarvam
    names = [
        name.upper()
        for name in WorkerSettings.model_fields
        if name.removesuffix("_api_key") in cloud or name.removesuffix("_base_url") in cloud
    ]
    worker = environment(compose()["services"]["voice-agent-worker"])
    missing = [name for name in names if worker.get(name) != f"${{{name}:-}}"]
    assert names and not missing, f"not passed from the environment: {missing}"
