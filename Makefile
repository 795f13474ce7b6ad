# evaltrace. `make demo` and `make test` do all set-up on a fresh machine (Python 3.11+, and Go
# for the Jaeger/collector tests). The virtualenv is rebuilt when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

# gllm-evals (with deepeval) is large: the bridge test has a venv of its own with gllm-evals
# and nothing else; MLflow joins it only in the benchmark peers' venv. Neither is the core install.
PEERS_VENV := benchmarks/.venv-peers
GLLM_VENV := .venv-gllm
GLLM_EVALS := gllm-evals-binary[deepeval]==0.1.41

.PHONY: help install demo test test-gllm test-frameworks frameworks test-pythons peers unit lint bench clean chromium vendor-uplot

## help: this list
help:
	@awk '/^## / { sub(/^## /, ""); split($$0, a, ": "); printf "  %-14s %s\n", a[1], substr($$0, length(a[1]) + 3) }' $(MAKEFILE_LIST)

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,ui]'
	touch $@

install: $(INSTALLED)

## demo: an offline RAG eval into the embedded store, read back, and an HTML report of it
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
	$(BIN)/python -m pytest -m "not backends and not gllm and not frameworks"

$(PEERS_VENV)/.installed: pyproject.toml benchmarks/peers/setup.sh
	PYTHON=$(PYTHON) bash benchmarks/peers/setup.sh
	$(PEERS_VENV)/bin/python -m pip install -q -e '.[dev]'
	touch $@

## peers: gllm-evals + MLflow (+ evaltrace) in benchmarks/.venv-peers, for make bench
peers: $(PEERS_VENV)/.installed

$(GLLM_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(GLLM_VENV)
	$(GLLM_VENV)/bin/python -m pip install -q --upgrade pip
	$(GLLM_VENV)/bin/python -m pip install -q '$(GLLM_EVALS)' -e '.[dev]'
	touch $@

## test-gllm: gllm-evals' own evaluate() logging through evaltrace (gllm-evals only, .venv-gllm)
test-gllm: $(GLLM_VENV)/.installed
	EVALTRACE_REQUIRE_GLLM=1 $(GLLM_VENV)/bin/python -m pytest -m gllm tests/integrations

# Inspect AI, DeepEval and ragas share one venv, promptfoo comes from npm: both are cached outside
# the tree, keyed by the hash of their lock file (and the Python), so a warm run installs nothing
# but evaltrace itself (editable: the Inspect hook is found by its entry point).
FRAMEWORKS_LOCK := tests/integrations/frameworks.lock
PROMPTFOO_DIR := tests/integrations/promptfoo
EVALTRACE_CACHE ?= $(HOME)/.cache/evaltrace
FRAMEWORKS_VENV = $(EVALTRACE_CACHE)/venvs/frameworks-$(shell { cat $(FRAMEWORKS_LOCK); $(PYTHON) --version; } | sha256sum | cut -c1-16)
# evaltrace is installed editable (its code is read from this tree) once per pyproject and tree
FRAMEWORKS_STAMP = $(FRAMEWORKS_VENV)/.evaltrace-$(shell { cat pyproject.toml; echo $(CURDIR); } | sha256sum | cut -c1-16)
PROMPTFOO_HOME = $(EVALTRACE_CACHE)/promptfoo/$(shell cat $(PROMPTFOO_DIR)/package.json $(PROMPTFOO_DIR)/package-lock.json | sha256sum | cut -c1-16)

## frameworks: the framework venv and promptfoo (npm ci), cached under ~/.cache/evaltrace
frameworks:
	@if [ ! -f $(FRAMEWORKS_VENV)/.installed ]; then rm -rf $(FRAMEWORKS_VENV) && \
	  $(PYTHON) -m venv $(FRAMEWORKS_VENV) && \
	  $(FRAMEWORKS_VENV)/bin/python -m pip install -q --no-deps -r $(FRAMEWORKS_LOCK) && \
	  touch $(FRAMEWORKS_VENV)/.installed || exit 1; fi
	@[ -f $(FRAMEWORKS_STAMP) ] || { rm -f $(FRAMEWORKS_VENV)/.evaltrace-* && \
	  $(FRAMEWORKS_VENV)/bin/python -m pip install -q --no-build-isolation -e '.[dev]' && \
	  touch $(FRAMEWORKS_STAMP); }
	@if [ ! -f $(PROMPTFOO_HOME)/.installed ]; then rm -rf $(PROMPTFOO_HOME) && mkdir -p $(PROMPTFOO_HOME) && \
	  cp $(PROMPTFOO_DIR)/package.json $(PROMPTFOO_DIR)/package-lock.json $(PROMPTFOO_HOME)/ && \
	  (cd $(PROMPTFOO_HOME) && npm ci -s --no-audit --no-fund) && touch $(PROMPTFOO_HOME)/.installed || exit 1; fi

## test-frameworks: Inspect AI, DeepEval, ragas and promptfoo runs read back through evaltrace
test-frameworks: frameworks
	EVALTRACE_REQUIRE_FRAMEWORKS=1 EVALTRACE_PROMPTFOO=$(PROMPTFOO_HOME)/node_modules/.bin/promptfoo \
	  $(FRAMEWORKS_VENV)/bin/python -m pytest -q -p no:cacheprovider -m frameworks tests/integrations

## test-pythons: the unit suite on every other supported Python (pyenv: PYTHONS="3.12 3.13")
PYTHONS ?= 3.12 3.13
PYENV_ROOT ?= $(HOME)/.pyenv
test-pythons:
	@for v in $(PYTHONS); do \
	  py=$$(ls -d $(PYENV_ROOT)/versions/$$v.*/bin/python 2>/dev/null | sort -V | tail -n 1); \
	  if [ -z "$$py" ]; then py=$$(command -v python$$v || true); fi; \
	  if [ -z "$$py" ]; then \
	    if [ "$$CI" = true ]; then echo "Python $$v not found (pyenv or python$$v)" >&2; exit 1; fi; \
	    echo "Python $$v not found: skipped"; continue; fi; \
	  venv=.venv-py$$v; \
	  if [ ! -f $$venv/.installed ] || [ pyproject.toml -nt $$venv/.installed ]; then \
	    $$py -m venv $$venv && $$venv/bin/python -m pip install -q --upgrade pip && \
	    $$venv/bin/python -m pip install -q -e '.[dev,ui]' && touch $$venv/.installed || exit 1; fi; \
	  echo "== Python $$v ($$py)"; \
	  $$venv/bin/python -m pytest -q -m "not backends and not gllm and not frameworks and not slow" -p no:cacheprovider || exit 1; \
	done

## test: lint, the gllm-evals bridge, Chromium, Python 3.12 and 3.13, the backends, the whole suite.
## The OpenSearch nodes start first, in the background (their JVMs boot meanwhile); the test
## session stops them, and every server it started, when it ends (docs/backends.md).
TEST_DOWN = $(EVALTRACE_BACKENDS_SCRIPTS)/backends-down.sh --test-owned
test: install
	@if command -v java >/dev/null 2>&1; then \
	  EVALTRACE_BACKENDS_OWNER=test $(EVALTRACE_BACKENDS_SCRIPTS)/opensearch-up.sh --no-wait || true; \
	else echo "java not found: OpenSearch tests will skip (and fail under CI=true)"; fi
	@$(MAKE) --no-print-directory lint test-gllm test-frameworks chromium test-pythons || { $(TEST_DOWN); exit 1; }
	@if command -v go >/dev/null 2>&1; then $(MAKE) --no-print-directory backends || { $(TEST_DOWN); exit 1; }; \
	else echo "go not found: Jaeger/collector tests will skip (and fail under CI=true)"; fi
	$(BIN)/python -m pytest -m "not gllm and not peers and not frameworks"

## bench: benchmarks/ -> table + benchmarks/results.json (Jaeger rows need Go for the backends)
bench: install peers
	@if command -v go >/dev/null 2>&1; then $(MAKE) --no-print-directory backends-up; \
	else echo "go not found: the jaeger rows will be reported as skipped"; fi
	$(BIN)/python -m pytest -q -m peers tests/test_benchmarks_smoke.py
	$(BIN)/python -m benchmarks

## clean: build and test leftovers (venvs, caches); never ./.evaltrace, which holds your runs
clean:
	rm -rf $(VENV) $(PEERS_VENV) $(GLLM_VENV) .venv-py3.* .pytest_cache .mypy_cache .ruff_cache tests/ui/artifacts

include deploy/backends.mk
