# evaltrace. `make demo` and `make test` do all set-up on a fresh machine (Python 3.11+, and Go
# for the Jaeger/collector tests). The virtualenv is rebuilt when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

# gllm-evals and MLflow are large (deepeval, ~2 GB): they live in the benchmark peers' venv,
# never in the core install. The gllm-evals bridge test runs there too.
PEERS_VENV := benchmarks/.venv-peers

.PHONY: install demo test test-gllm peers unit lint bench clean chromium vendor-uplot

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,ui]'
	touch $@

install: $(INSTALLED)

## demo: a realistic offline RAG eval logged into the embedded store, read back, and written
## as an HTML report (the newest run against the one before it)
DEMO_REPORT ?= .evaltrace/report.html
demo: install
	$(BIN)/evaltrace demo
	@set -- $$($(BIN)/evaltrace runs --project evaltrace-demo --limit 2 --json \
	  | $(BIN)/python -c 'import json, sys; print(*(r["run_id"] for r in json.load(sys.stdin)))'); \
	$(BIN)/evaltrace report "$$1" --compare "$$2" -o $(DEMO_REPORT) && \
	echo "report: $(DEMO_REPORT) (open it in a browser, offline)" && \
	echo "browse every run: $(BIN)/evaltrace ui   # then open http://127.0.0.1:8000/"

## chromium: Debian's Chromium for the browser tests in tests/ui (apt-get, when root)
chromium:
	@if command -v chromium >/dev/null 2>&1; then echo "chromium: $$(command -v chromium)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else echo "chromium not found and not root: install Debian's chromium (apt-get install chromium);" \
	  "the browser tests in tests/ui skip without it (and fail under CI=true)"; fi

## vendor-uplot: re-vendor the chart library from npm into src/evaltrace/ui/static (UPLOT=1.6.32)
UPLOT ?= 1.6.32
vendor-uplot:
	bash scripts/vendor-uplot.sh $(UPLOT)

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

## test: lint, the gllm-evals bridge, Chromium, build the backends (when Go is present), the whole suite
test: install lint test-gllm chromium
	@if command -v go >/dev/null 2>&1; then $(MAKE) --no-print-directory backends; \
	else echo "go not found: Jaeger/collector tests will skip (and fail under CI=true)"; fi
	$(BIN)/python -m pytest -m "not gllm and not peers"

## bench: benchmarks/ -> table + benchmarks/results.json (Jaeger rows need Go for the backends)
bench: install peers
	@if command -v go >/dev/null 2>&1; then $(MAKE) --no-print-directory backends-up; \
	else echo "go not found: the jaeger rows will be reported as skipped"; fi
	$(BIN)/python -m pytest -q -m peers tests/test_benchmarks_smoke.py
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(PEERS_VENV) .evaltrace .pytest_cache .mypy_cache .ruff_cache

include deploy/backends.mk
