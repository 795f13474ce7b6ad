# evaltrace. `make demo` and `make test` do all set-up on a fresh machine (Python 3.11+, and Go
# for the Jaeger/collector tests). The virtualenv is rebuilt when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

# gllm-evals and MLflow are large (deepeval, ~2 GB): they live in the benchmark peers' venv,
# never in the core install. The gllm-evals bridge test runs there too.
PEERS_VENV := benchmarks/.venv-peers

.PHONY: install demo test test-gllm peers unit lint bench clean

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
	$(BIN)/python -m pytest -m "not backends and not gllm"

$(PEERS_VENV)/.installed: pyproject.toml benchmarks/peers/setup.sh
	PYTHON=$(PYTHON) bash benchmarks/peers/setup.sh
	$(PEERS_VENV)/bin/python -m pip install -q -e '.[dev]'
	touch $@

## peers: gllm-evals + MLflow (+ evaltrace) in benchmarks/.venv-peers
peers: $(PEERS_VENV)/.installed

## test-gllm: gllm-evals' own evaluate() logging through evaltrace
test-gllm: peers
	$(PEERS_VENV)/bin/python -m pytest -m gllm tests/integrations

## test: lint, the gllm-evals bridge, build the backends (when Go is present), the whole suite.
## The OpenSearch nodes start first, in the background (their JVMs boot while lint runs); the
## test session stops them, and every server it started, when it ends (docs/backends.md).
TEST_DOWN = $(EVALTRACE_BACKENDS_SCRIPTS)/backends-down.sh --test-owned
test: install
	@if command -v java >/dev/null 2>&1; then \
	  EVALTRACE_BACKENDS_OWNER=test $(EVALTRACE_BACKENDS_SCRIPTS)/opensearch-up.sh --no-wait || true; \
	else echo "java not found: OpenSearch tests will skip (and fail under CI=true)"; fi
	@$(MAKE) --no-print-directory lint test-gllm || { $(TEST_DOWN); exit 1; }
	@if command -v go >/dev/null 2>&1; then $(MAKE) --no-print-directory backends || { $(TEST_DOWN); exit 1; }; \
	else echo "go not found: Jaeger/collector tests will skip (and fail under CI=true)"; fi
	$(BIN)/python -m pytest -m "not gllm"

## bench: benchmarks/ -> table + benchmarks/results.json (Jaeger rows need Go for the backends)
bench: install peers
	@if command -v go >/dev/null 2>&1; then $(MAKE) --no-print-directory backends-up; \
	else echo "go not found: the jaeger rows will be reported as skipped"; fi
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(PEERS_VENV) .evaltrace .pytest_cache .mypy_cache .ruff_cache

include deploy/backends.mk
