# The two commands in the README: `make up` runs everything, `make test` tests everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: up test lint unit integration e2e bench venv migrate clean

up: $(STAMP)
	$(BIN)/switchboard up

test: lint
	$(BIN)/python -m pytest

# ruff (lint + format check) and mypy (strict on shared/ and every domain/), before any test
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit tests/contract

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e

# a 200-agent floor under open-loop webhook and SMTP load, replicas, backlog drain, dispatch cost, SLA
# lateness, beside the raw Kafka/PostgreSQL limits; writes bench/results/latest.json and latency.png
# (`python -m bench.run --quick` for a short run, results in bench/results/quick/)
bench: $(STAMP)
	$(BIN)/python -m bench.run

venv: $(STAMP)

# Reinstall whenever the dependency list or the pins change.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

migrate: $(STAMP)
	$(BIN)/switchboard migrate

clean:
	rm -rf .local .pytest_cache .hypothesis
