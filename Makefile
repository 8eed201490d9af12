# Voice agent stack. `make help` lists the targets.
SHELL := /bin/bash
TOOLS_BIN := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/voice-stack/bin
export PATH := $(TOOLS_BIN):$(PATH)
export HF_HUB_OFFLINE := 1
PYTEST := uv run --frozen pytest
DOCKERFILES := services/session_api/Dockerfile services/voice_agent/Dockerfile frontend/Dockerfile

.DEFAULT_GOAL := help
.PHONY: help setup dev up down logs test test-e2e bench bench-api lint fmt

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## Install everything the tests and `make dev` need (uv, redis, nginx, livekit-server, npm)
	@scripts/setup.sh

dev: setup ## Run the whole stack as native processes (no Docker); Ctrl-C stops it
	uv run --frozen python scripts/devstack.py

up: ## Start the stack with Docker Compose
	docker compose up -d

down: ## Stop the Docker Compose stack
	docker compose down

logs: ## Follow the Docker Compose logs
	docker compose logs -f

test: setup ## Set up, then run every test (unit, integration, e2e)
	$(PYTEST)

test-e2e: setup ## Run only the end-to-end tests
	$(PYTEST) -m e2e

bench: bench-api ## Run the benchmarks (never part of `make test`)

bench-api: setup ## Load-test POST /api/voice/session on loopback; writes docs/benchmarks.md
	uv run --frozen python bench/api_load.py --write

lint: setup ## ruff, mypy, hadolint, compose schema check
	uv run --frozen ruff check .
	uv run --frozen ruff format --check .
	uv run --frozen mypy services scripts
	uv run --frozen hadolint $(DOCKERFILES)
	$(PYTEST) -q tests/unit/test_deployment_files.py

fmt: ## Format the Python code
	uv run --frozen ruff check --fix .
	uv run --frozen ruff format .
