# Make fragment for the local trace backends (Jaeger v2 + OpenTelemetry Collector).
# Included by the top-level Makefile:   include deploy/backends.mk
# Targets:
#   backends        build (or reuse cached) binaries   -> deploy/scripts/build-backends.sh
#   backends-up     start them on 127.0.0.1, wait for health, print endpoints
#   backends-down   stop them (BACKENDS_DOWN_FLAGS=--clean also deletes queues/logs)
# Settings are environment variables, see docs/backends.md
# (EVALTRACE_BACKENDS_CACHE, EVALTRACE_BACKENDS_RUN, EVALTRACE_BACKENDS_TIMEOUT).

EVALTRACE_BACKENDS_SCRIPTS := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))/scripts
BACKENDS_DOWN_FLAGS ?=

.PHONY: backends backends-up backends-down

backends:
	$(EVALTRACE_BACKENDS_SCRIPTS)/build-backends.sh all

backends-up:
	$(EVALTRACE_BACKENDS_SCRIPTS)/backends-up.sh

backends-down:
	$(EVALTRACE_BACKENDS_SCRIPTS)/backends-down.sh $(BACKENDS_DOWN_FLAGS)
