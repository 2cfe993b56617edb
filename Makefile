# Factorio ISR — the commands a newcomer needs. `make help` lists them.
#
# Only python3 (3.11+) is assumed. uv is taken from PATH, or installed with pip into .tools/
# (never a Python download: UV_PYTHON_DOWNLOADS=never).

PYTHON ?= python3
UV_VERSION := 0.13.8
UV ?= $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
# Random per `make run`; the demo's simulated Factorio server and the poller share it.
ISR_DEMO_RCON_PASSWORD ?= $(shell $(PYTHON) -c 'import secrets; print(secrets.token_hex(12))')
export ISR_DEMO_RCON_PASSWORD

PYTEST_ARGS ?=

.PHONY: help run test test-fast lint format bench clean sync

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

.venv/.synced: $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv) uv.lock pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)
	$(UV) sync --frozen
	@touch $@

sync: .venv/.synced ## install the workspace into .venv (from uv.lock)

run: .venv/.synced ## run the whole pipeline against a simulated Factorio server
	$(UV) run --frozen isr up

test: .venv/.synced ## run every test (starts its own nats-server and Postgres)
	$(UV) run --frozen pytest $(PYTEST_ARGS)

test-fast: .venv/.synced ## run the tests not marked slow
	$(UV) run --frozen pytest -m "not slow" $(PYTEST_ARGS)

lint: .venv/.synced ## ruff (lint + format check) and mypy --strict on libs/common
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy

format: .venv/.synced ## apply ruff's fixes and formatting
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

bench: .venv/.synced ## run the benchmarks (not part of make test)
	$(UV) run --frozen python -m benchmarks

clean: ## remove the environment, caches and the local state of `make run`
	rm -rf .venv .tools .isr .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
