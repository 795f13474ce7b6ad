# Make fragment for the local backends (Jaeger v2, OpenTelemetry Collector, Prometheus 3).
# Included by the top-level Makefile:   include deploy/backends.mk
# Targets:
#   backends        build (or reuse cached) binaries   -> deploy/scripts/build-backends.sh
#   backends-up     start them on 127.0.0.1, wait for health, print endpoints;
#                   STORAGE=opensearch: Jaeger on a 3-node OpenSearch cluster (default memory)
#   backends-down   stop them, keeping the data (BACKENDS_DOWN_FLAGS=--clean deletes queues,
#                   logs and the OpenSearch data)
#   opensearch-start  start the OpenSearch nodes without waiting (make test overlaps their
#                   JVM start with lint); backends-up STORAGE=opensearch waits for them
#   rules-test      promtool test rules + check config on deploy/prometheus/ (builds promtool)
# Settings are environment variables, see docs/backends.md
# (EVALTRACE_BACKENDS_CACHE, EVALTRACE_BACKENDS_RUN, EVALTRACE_BACKENDS_TIMEOUT).

EVALTRACE_BACKENDS_SCRIPTS := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))/scripts
BACKENDS_DOWN_FLAGS ?=
STORAGE ?= memory

.PHONY: backends backends-up backends-down opensearch-start rules-test

backends:
	$(EVALTRACE_BACKENDS_SCRIPTS)/build-backends.sh all

backends-up:
	EVALTRACE_BACKENDS_STORAGE=$(STORAGE) $(EVALTRACE_BACKENDS_SCRIPTS)/backends-up.sh

backends-down:
	$(EVALTRACE_BACKENDS_SCRIPTS)/backends-down.sh $(BACKENDS_DOWN_FLAGS)

opensearch-start:
	$(EVALTRACE_BACKENDS_SCRIPTS)/opensearch-up.sh --no-wait

rules-test:
	@promtool=$$($(EVALTRACE_BACKENDS_SCRIPTS)/build-backends.sh prometheus | sed -n 's/^PROMTOOL_BIN=//p'); \
	cd $(EVALTRACE_BACKENDS_SCRIPTS)/../prometheus && "$$promtool" check config prometheus.yml && \
	"$$promtool" test rules rules_test.yml
