# shellcheck shell=bash
# Shared settings for deploy/scripts/*.sh (sourced, not executed).

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

CACHE_DIR=${EVALTRACE_BACKENDS_CACHE:-$HOME/.cache/evaltrace}
# One run dir per user and machine, whichever checkout starts the servers: a second checkout's
# backends-up finds them running (same pid files) instead of tripping over their ports.
RUN_DIR=${EVALTRACE_BACKENDS_RUN:-$CACHE_DIR/run}

JAEGER_WRAPPER_DIR=$REPO_ROOT/deploy/build/jaeger
JAEGER_CONFIG=$REPO_ROOT/deploy/jaeger/config.yaml
JAEGER_OPENSEARCH_CONFIG=$REPO_ROOT/deploy/jaeger/config-opensearch.yaml
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

# Prometheus (and promtool) from the Go module proxy: module github.com/prometheus/prometheus
# v0.316.0 is Prometheus 3.16 (Prometheus 3.x tags v3.N.M are published as module v0.3NN.M).
PROMETHEUS_VERSION=0.316.0
PROMETHEUS_BIN=$CACHE_DIR/prometheus-v$PROMETHEUS_VERSION/prometheus
PROMTOOL_BIN=$CACHE_DIR/prometheus-v$PROMETHEUS_VERSION/promtool
PROMETHEUS_CONFIG=$REPO_ROOT/deploy/prometheus/prometheus.yml

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
PROMETHEUS_PORT=9090
# STORAGE=opensearch: deploy/scripts/otlp_logs_opensearch.py, the collector's log store (OTLP/HTTP
# in, OpenSearch out; the contrib opensearchexporter cannot be built here, see docs/backends.md).
OPENSEARCH_LOGS_PORT=14319
OPENSEARCH_LOGS_INDEX=otel-logs
# The Python that runs it: needs opentelemetry-proto and httpx (evaltrace's own dependencies).
if [ -n "${EVALTRACE_PYTHON:-}" ]; then
  LOGS_PYTHON=$EVALTRACE_PYTHON
elif [ -x "$REPO_ROOT/.venv/bin/python" ]; then
  LOGS_PYTHON=$REPO_ROOT/.venv/bin/python
else
  LOGS_PYTHON=python3
fi

# OpenSearch: the integ-test zip from Maven Central (no JDK, no plugins), unpacked by version.
OPENSEARCH_VERSION=2.19.6
OPENSEARCH_ARTIFACT=org.opensearch.distribution.integ-test-zip:opensearch:$OPENSEARCH_VERSION:zip
OPENSEARCH_ZIP=${EVALTRACE_MAVEN_REPO:-$HOME/.m2/repository}/org/opensearch/distribution/integ-test-zip/opensearch/$OPENSEARCH_VERSION/opensearch-$OPENSEARCH_VERSION.zip
# OpenSearch refuses to run as root, so as root it runs as an unprivileged user (nobody), who
# must be able to reach its files: /root is 0700, so then they live under /var/tmp
# (persistent across reboots). Holds opensearch-<version>/ (the unpacked zip) and
# node-N/ (config, data, logs, pid of node N).
if [ "$(id -u)" = 0 ]; then
  OPENSEARCH_DIR=${EVALTRACE_OPENSEARCH_DIR:-/var/tmp/evaltrace-opensearch}
else
  OPENSEARCH_DIR=${EVALTRACE_OPENSEARCH_DIR:-$CACHE_DIR/opensearch}
fi
OPENSEARCH_HOME=$OPENSEARCH_DIR/opensearch-$OPENSEARCH_VERSION
OPENSEARCH_NODES=3
OPENSEARCH_HTTP_PORT0=9200      # node i: http 9200+i, transport 9300+i
OPENSEARCH_TRANSPORT_PORT0=9300
OPENSEARCH_CLUSTER=evaltrace

log() { echo "evaltrace-backends: $*" >&2; }
die() { _die "$@"; }

# pid_alive PIDFILE -> 0 when the file names a live process.
pid_alive() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# stop_pid NAME PIDFILE [GRACE_SECONDS]: SIGTERM, wait (bounded), then SIGKILL; idempotent.
stop_pid() {
  local name=$1 pidf=$2 grace=${3:-20} pid _
  if [ ! -f "$pidf" ]; then
    log "$name: not running (no $pidf)"
    return 0
  fi
  pid=$(cat "$pidf" 2>/dev/null || true)
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
    log "$name: not running (stale pid file removed)"
    rm -f "$pidf"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 $((grace * 5))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name: pid $pid ignored SIGTERM for ${grace}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidf"
  log "$name: stopped (pid $pid)"
}

port_busy() {
  # bash's /dev/tcp: succeeds when something listens on $HOST:$1
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# Who owns a server (file NAME_DIR/owner): `user` (make backends-up, the default) or `test`
# (started by a test session, EVALTRACE_BACKENDS_OWNER=test). A test session stops only its
# own at the end (backends-down.sh --test-owned); whatever it stops and restarts on the way
# (a restart test, a killed node) keeps its owner.
OWNER=${EVALTRACE_BACKENDS_OWNER:-user}
case "$OWNER" in
  user|test) ;;
  *) _die "EVALTRACE_BACKENDS_OWNER must be user or test, not '$OWNER'" ;;
esac

# claim_started DIR: the server in DIR was just started.
claim_started() {
  if [ "$OWNER" = user ] || [ ! -f "$1/owner" ]; then echo "$OWNER" >"$1/owner"; fi
}

# claim_running DIR: the server in DIR was found running; a user asking for it adopts it.
claim_running() {
  if [ "$OWNER" = user ]; then echo user >"$1/owner"; fi
}
