#!/usr/bin/env bash
# Environment variables the integration tests read to find the local backends
# started by deploy/scripts/backends-up.sh.
#
#   . deploy/scripts/backends-env.sh            # source: exports them
#   eval "$(deploy/scripts/backends-env.sh)"    # execute: prints `export ...` lines
#
# Values already set in the environment are kept.

_evaltrace_backends_env() {
  cat <<EOF
export EVALTRACE_TEST_COLLECTOR_OTLP=${EVALTRACE_TEST_COLLECTOR_OTLP:-http://127.0.0.1:4317}
export EVALTRACE_TEST_COLLECTOR_OTLP_HTTP=${EVALTRACE_TEST_COLLECTOR_OTLP_HTTP:-http://127.0.0.1:4318}
export EVALTRACE_TEST_COLLECTOR_HEALTH=${EVALTRACE_TEST_COLLECTOR_HEALTH:-http://127.0.0.1:13133/}
export EVALTRACE_TEST_JAEGER_URL=${EVALTRACE_TEST_JAEGER_URL:-http://127.0.0.1:16686}
export EVALTRACE_TEST_JAEGER_GRPC=${EVALTRACE_TEST_JAEGER_GRPC:-127.0.0.1:16685}
export EVALTRACE_TEST_JAEGER_OTLP=${EVALTRACE_TEST_JAEGER_OTLP:-http://127.0.0.1:14317}
export EVALTRACE_TEST_PROMETHEUS_URL=${EVALTRACE_TEST_PROMETHEUS_URL:-http://127.0.0.1:9090}
export EVALTRACE_TEST_JAEGER_OTLP_HTTP=${EVALTRACE_TEST_JAEGER_OTLP_HTTP:-http://127.0.0.1:14318}
export EVALTRACE_TEST_OPENSEARCH_URL=${EVALTRACE_TEST_OPENSEARCH_URL:-http://127.0.0.1:9200}
EOF
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  _evaltrace_backends_env
else
  eval "$(_evaltrace_backends_env)"
fi
unset -f _evaltrace_backends_env
