# Voice agent stack. `make help` lists the targets.
SHELL := /bin/bash
TOOLS_BIN := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/voice-stack/bin
export PATH := $(TOOLS_BIN):$(PATH)
export HF_HUB_OFFLINE := 1
export UV_PYTHON_DOWNLOADS := never
# uv from PATH, else the module pip installed (`make setup` installs it when missing)
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
PYTEST := $(UV) run --frozen pytest
DOCKERFILES := services/session_api/Dockerfile services/voice_agent/Dockerfile services/ollama/Dockerfile \
	frontend/Dockerfile

.DEFAULT_GOAL := help
.PHONY: help setup setup-docker dev up down logs test test-e2e test-compose bench bench-api bench-voice bench-capacity bench-soak bench-compose lint fmt docs

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## Install everything the tests and `make dev` need (uv, redis, nginx, livekit-server, npm)
	@scripts/setup.sh

setup-docker: ## The Docker engine, compose plugin and base images the compose tests need (as root)
	@scripts/setup.sh docker

# Where `make dev` keeps its Redis data and logs (the tests point it elsewhere).
DEV_RUN_DIR ?= .cache/dev

dev: setup ## Run the whole stack as native processes (no Docker); Ctrl-C stops it
	$(UV) run --frozen python -m harness.dev --run-dir $(DEV_RUN_DIR)

up: ## Start the stack with Docker Compose
	docker compose up -d

down: ## Stop the Docker Compose stack
	docker compose down

logs: ## Follow the Docker Compose logs
	docker compose logs -f

test: setup setup-docker ## Set up, then run every test: the web client's unit tests, then pytest (all markers)
	cd frontend && npm run --silent test
	$(PYTEST)

test-e2e: setup ## Run only the end-to-end tests
	$(PYTEST) -m e2e

test-compose: setup setup-docker ## Run only the compose tests: the real containers, built and started
	$(PYTEST) -m compose

bench: bench-api bench-voice bench-soak bench-compose ## Run the benchmarks (never part of `make test`)

bench-api: ## Load-test POST /api/voice/session on loopback with wrk; writes docs/benchmarks.md + .json
	@scripts/setup.sh bench
	$(UV) run --frozen python bench/api_load.py --write

lint: setup ## ruff, mypy, hadolint, `docker compose config`, the deployment files' and docs' checks
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy services scripts tests/harness bench
	$(UV) run --frozen hadolint $(DOCKERFILES)
	docker compose -f docker-compose.yml config --quiet
	$(PYTEST) -q tests/unit/test_compose_file.py tests/unit/test_dockerfiles.py tests/unit/test_settings_docs.py

docs: ## Write .env.example and docs/configuration.md's settings tables from the settings classes
	$(UV) run --frozen python scripts/settings_docs.py

fmt: ## Format the Python code
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

bench-voice: setup ## Voice latency per preset, greeting, latency levers, end-of-turn cut-offs, capacity; writes docs/benchmarks.md + .json
	$(UV) run --frozen python bench/voice.py all --write

bench-capacity: setup ## Simultaneous conversations (1, 3, 5, 10) and the capacity levers: CPU, memory, p95, failures; writes docs/benchmarks.md + .json and the sizing rule in docs/architecture.md
	@scripts/setup.sh bench
	$(UV) run --frozen python bench/capacity_levers.py all --write

bench-soak: setup ## Ten minutes of session churn plus conversations: errors, memory trends; writes docs/benchmarks.md + .json
	$(UV) run --frozen python bench/soak.py --write

bench-compose: setup setup-docker ## Compose stack: build time, image sizes, up-to-healthy and stop times; writes docs/benchmarks.md
	$(UV) run --frozen python bench/compose_startup.py --write
