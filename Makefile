# The README's commands. Each target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test lint docs install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[demo,dev]'
	touch $(STAMP)

install: $(STAMP)

## Run Proxgate: against the Proxmox in PROXMOX_* / ~/.proxmox-credentials, or the demo when none is configured.
run: $(STAMP)
	$(BIN)/proxgate up

## Run the demo: a simulated 3-node cluster with about 30 guests.
demo: $(STAMP)
	$(BIN)/proxgate demo

## Run the whole test-suite (unit, HTTP against fakepve, browser); sets up Chromium, ping and slapd first, or
## says how.
## PYTEST_ARGS narrows it (CI's PostgreSQL run leaves out what does not touch the database).
PYTEST_ARGS ?=
test: $(STAMP)
	./scripts/ensure-chromium
	./scripts/ensure-ping
	./scripts/ensure-slapd
	$(BIN)/python -m pytest -q --durations=20 $(PYTEST_ARGS)

## Lint: ruff, formatting, mypy, and the import contracts (layers one way, only the CLI starts the demo).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## Docs: rewrite the README's table of operations from the catalogue (a test fails while it is out of date).
docs: $(STAMP)
	$(BIN)/python -m app.operations.reference README.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
