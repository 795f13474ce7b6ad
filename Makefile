# evaltrace. `make demo` and `make test` do all set-up on a fresh machine (Python 3.11+, and Go
# for the Jaeger/collector tests). The virtualenv is rebuilt when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install demo test unit lint bench clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(INSTALLED)

## demo: a realistic offline RAG eval logged into the embedded store, then read back
demo: install
	$(BIN)/evaltrace demo

## lint: ruff (lint + format) and mypy strict on the package
lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

## unit: the tests that need no backend
unit: install
	$(BIN)/python -m pytest -m "not backends"

## test: lint, build the backends (when Go is present), then the whole suite
test: install lint
	@if command -v go >/dev/null 2>&1; then $(MAKE) --no-print-directory backends; \
	else echo "go not found: Jaeger/collector tests will skip (and fail under CI=true)"; fi
	$(BIN)/python -m pytest

## bench: benchmarks/ -> table + benchmarks/results.json
bench: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .evaltrace .pytest_cache .mypy_cache .ruff_cache

include deploy/backends.mk
