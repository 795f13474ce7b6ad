# shellcheck shell=bash
# Shared settings for deploy/scripts/*.sh (sourced, not executed).

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

CACHE_DIR=${EVALTRACE_BACKENDS_CACHE:-$HOME/.cache/evaltrace}
RUN_DIR=${EVALTRACE_BACKENDS_RUN:-$REPO_ROOT/.backends}

JAEGER_WRAPPER_DIR=$REPO_ROOT/deploy/build/jaeger
JAEGER_CONFIG=$REPO_ROOT/deploy/jaeger/config.yaml
MANIFEST=$REPO_ROOT/deploy/collector/builder-config.yaml
COLLECTOR_CONFIG=$REPO_ROOT/collector-config.yaml

OCB_VERSION=0.159.0
OCB_BIN=$CACHE_DIR/ocb-v$OCB_VERSION/builder

_die() { echo "evaltrace-backends: ERROR: $*" >&2; exit 1; }

# Jaeger version = the one pinned by the wrapper module (bumping it there rebuilds).
JAEGER_VERSION=$(awk '$1 == "github.com/jaegertracing/jaeger" { print $2; exit }' "$JAEGER_WRAPPER_DIR/go.mod" 2>/dev/null || true)
[ -n "$JAEGER_VERSION" ] || _die "cannot read the github.com/jaegertracing/jaeger version from $JAEGER_WRAPPER_DIR/go.mod"
JAEGER_BIN=$CACHE_DIR/jaeger-$JAEGER_VERSION/jaeger

# Collector key = dist.version + hash of the manifest (editing the manifest rebuilds).
[ -f "$MANIFEST" ] || _die "collector manifest $MANIFEST is missing"
OTELCOL_VERSION=$(awk '$1 == "version:" { print $2; exit }' "$MANIFEST")
OTELCOL_NAME=$(awk '$1 == "name:" { print $2; exit }' "$MANIFEST")
MANIFEST_HASH=$(sha256sum "$MANIFEST" | cut -c1-12)
COLLECTOR_BIN=$CACHE_DIR/$OTELCOL_NAME-$OTELCOL_VERSION-$MANIFEST_HASH/$OTELCOL_NAME

# Ports (all 127.0.0.1).
HOST=127.0.0.1
COLLECTOR_GRPC_PORT=4317
COLLECTOR_HTTP_PORT=4318
COLLECTOR_HEALTH_PORT=13133
JAEGER_OTLP_GRPC_PORT=14317
JAEGER_OTLP_HTTP_PORT=14318
JAEGER_QUERY_HTTP_PORT=16686
JAEGER_QUERY_GRPC_PORT=16685
JAEGER_HEALTH_PORT=13134

log() { echo "evaltrace-backends: $*" >&2; }
die() { _die "$@"; }
