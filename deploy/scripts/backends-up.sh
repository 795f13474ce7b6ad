#!/usr/bin/env bash
# Start the local trace backends on 127.0.0.1 (idempotent):
#   Jaeger v2     OTLP gRPC :14317 / HTTP :14318, query HTTP :16686 / gRPC :16685, health :13134
#   Prometheus    HTTP API :9090 (OTLP receiver /api/v1/otlp/v1/metrics, rules from
#                 deploy/prometheus/), data in $EVALTRACE_BACKENDS_RUN/prometheus/data
#   Collector     OTLP gRPC :4317 / HTTP :4318, health :13133 -> traces to Jaeger :14317,
#                 metrics to Prometheus :9090
#   OpenSearch    (STORAGE=opensearch only) 3 nodes, http :9200-9202, transport :9300-9302,
#                 started and awaited by deploy/scripts/opensearch-up.sh
#   Log store     (STORAGE=opensearch only) deploy/scripts/otlp_logs_opensearch.py on :14319:
#                 the collector's logs pipeline goes there, and on into OpenSearch index
#                 otel-logs; with memory storage the logs pipeline drops (nop exporter)
# Builds the binaries first if they are missing (deploy/scripts/build-backends.sh).
# Starts only what is not already running, waits for health (bounded), prints the
# endpoints and exits 0; on failure prints the tail of the server's log and exits 1.
#
#   EVALTRACE_BACKENDS_STORAGE  Jaeger's storage: memory (default; lost on stop) or opensearch
#                               (`make backends-up STORAGE=opensearch`). The same ports either
#                               way: a running Jaeger with the other storage is restarted.
#   EVALTRACE_BACKENDS_OWNER    user (default) or test: who owns the servers started here
#                               (see backends-lib.sh; a test session stops only its own with
#                               `backends-down.sh --test-owned`); a user asking adopts running ones
#   EVALTRACE_BACKENDS_RUN      runtime dir: pid files, logs, queue storage
#                               (default $EVALTRACE_BACKENDS_CACHE/run, shared by every checkout)
#   EVALTRACE_BACKENDS_CACHE    binary cache (default $HOME/.cache/evaltrace)
#   EVALTRACE_BACKENDS_TIMEOUT  seconds to wait for each server to become healthy (default 60)
#   EVALTRACE_PYTHON            the Python that runs otlp_logs_opensearch.py (default: the
#                               checkout's .venv, else python3; needs opentelemetry-proto, httpx)
#   EVALTRACE_COLLECTOR_TRACES_EXPORTERS
#                               exporters of the collector's traces pipeline. Default here:
#                               [otlp_grpc/jaeger], or [otlp_grpc/jaeger, otlp_grpc/tempo]
#                               when TEMPO_OTLP_ENDPOINT is set (no Tempo runs locally).
#                               Add `debug` to log every span.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/scripts/backends-lib.sh
. "$SCRIPT_DIR/backends-lib.sh"

TIMEOUT=${EVALTRACE_BACKENDS_TIMEOUT:-60}
STORAGE=${EVALTRACE_BACKENDS_STORAGE:-memory}
case "$STORAGE" in
  memory) jaeger_config=$JAEGER_CONFIG ;;
  opensearch) jaeger_config=$JAEGER_OPENSEARCH_CONFIG ;;
  *) die "unknown storage '$STORAGE' (EVALTRACE_BACKENDS_STORAGE / STORAGE: memory or opensearch)" ;;
esac

if [ ! -x "$JAEGER_BIN" ] || [ ! -x "$COLLECTOR_BIN" ] || [ ! -x "$PROMETHEUS_BIN" ]; then
  log "binaries missing, building them first"
  "$SCRIPT_DIR/build-backends.sh" all >/dev/null
fi

mkdir -p "$RUN_DIR/jaeger" "$RUN_DIR/collector/file_storage" "$RUN_DIR/prometheus/data" \
  "$RUN_DIR/opensearch-logs"

# is_running NAME -> 0 if the pid in $RUN_DIR/NAME/pid is alive and is our binary.
is_running() {
  local pidf="$RUN_DIR/$1/pid" pid exe
  [ -f "$pidf" ] || return 1
  pid=$(cat "$pidf" 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
  exe=${exe% (deleted)} # the binary was rebuilt or replaced while it ran: still ours
  case "$exe" in
    */jaeger|*/"$OTELCOL_NAME"|*/prometheus|*/python*|"") return 0 ;;
    *) return 1 ;;
  esac
}

http_ok() {
  curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null
}

# start NAME HEALTH_URL PORTS... -- CMD...
start() {
  local name=$1 url=$2; shift 2
  local ports=()
  while [ "$1" != "--" ]; do ports+=("$1"); shift; done
  shift
  local dir="$RUN_DIR/$name" logf="$RUN_DIR/$name/$name.log"
  if is_running "$name"; then
    claim_running "$dir"
    if http_ok "$url"; then
      log "$name: already running (pid $(cat "$dir/pid"))"
      return 0
    fi
    log "$name: running (pid $(cat "$dir/pid")) but not healthy yet, waiting"
  else
    rm -f "$dir/pid"
    local p
    for p in "${ports[@]}"; do
      if port_busy "$p"; then
        die "$name: port $HOST:$p is already in use by another process (not started by this script; run dir $RUN_DIR). Stop it, or run deploy/scripts/backends-down.sh with the right EVALTRACE_BACKENDS_RUN."
      fi
    done
    log "$name: starting ($*), log $logf"
    {
      echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) starting: $*"
    } >>"$logf"
    # setsid: the server outlives this shell and make's process group.
    (cd "$REPO_ROOT" && exec setsid "$@" >>"$logf" 2>&1 </dev/null) &
    echo $! >"$dir/pid"
    claim_started "$dir"
  fi
  local deadline=$(( $(date +%s) + TIMEOUT ))
  while ! http_ok "$url"; do
    if ! pid_alive "$dir/pid"; then # our own child: alive is enough (it may not have exec'd yet)
      echo "----- last lines of $logf -----" >&2
      tail -n 40 "$logf" >&2 || true
      rm -f "$dir/pid"
      die "$name exited during startup (see $logf)"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "----- last lines of $logf -----" >&2
      tail -n 40 "$logf" >&2 || true
      die "$name did not become healthy at $url within ${TIMEOUT}s (pid $(cat "$dir/pid"), log $logf); stop it with deploy/scripts/backends-down.sh"
    fi
    sleep 0.2
  done
  log "$name: healthy (pid $(cat "$dir/pid"))"
}

t0=$(date +%s%N)

jaeger_args=()
if [ "$STORAGE" = opensearch ]; then
  "$SCRIPT_DIR/opensearch-up.sh" >/dev/null
  jaeger_args=("JAEGER_OPENSEARCH_URLS=[http://$HOST:$OPENSEARCH_HTTP_PORT0, http://$HOST:$((OPENSEARCH_HTTP_PORT0 + 1)), http://$HOST:$((OPENSEARCH_HTTP_PORT0 + 2))]")
fi

# One Jaeger at a time on these ports: replace one running with the other storage (it keeps
# its owner).
if is_running jaeger; then
  running_storage=$(cat "$RUN_DIR/jaeger/storage" 2>/dev/null || echo memory)
  if [ "$running_storage" != "$STORAGE" ]; then
    log "jaeger: running with $running_storage storage, restarting it with $STORAGE storage"
    stop_pid jaeger "$RUN_DIR/jaeger/pid"
  fi
fi

# Jaeger first: the collector exports to it.
start jaeger "http://$HOST:$JAEGER_QUERY_HTTP_PORT/api/v3/services" \
  "$JAEGER_OTLP_GRPC_PORT" "$JAEGER_OTLP_HTTP_PORT" "$JAEGER_QUERY_HTTP_PORT" "$JAEGER_QUERY_GRPC_PORT" "$JAEGER_HEALTH_PORT" -- \
  env JAEGER_OTLP_GRPC_ENDPOINT=$HOST:$JAEGER_OTLP_GRPC_PORT \
      JAEGER_OTLP_HTTP_ENDPOINT=$HOST:$JAEGER_OTLP_HTTP_PORT \
      JAEGER_QUERY_HTTP_ENDPOINT=$HOST:$JAEGER_QUERY_HTTP_PORT \
      JAEGER_QUERY_GRPC_ENDPOINT=$HOST:$JAEGER_QUERY_GRPC_PORT \
      JAEGER_HEALTH_ENDPOINT=$HOST:$JAEGER_HEALTH_PORT \
      "${jaeger_args[@]}" \
  "$JAEGER_BIN" --config "$jaeger_config"
echo "$STORAGE" >"$RUN_DIR/jaeger/storage"

# Prometheus before the collector, which exports metrics to it. created-timestamp-zero-ingestion:
# a series' OTLP start time becomes a 0 sample, so increase() counts a short-lived writer's
# first (or only) export too (docs/metrics.md).
start prometheus "http://$HOST:$PROMETHEUS_PORT/-/ready" "$PROMETHEUS_PORT" -- \
  "$PROMETHEUS_BIN" --config.file="$PROMETHEUS_CONFIG" \
    --web.listen-address="$HOST:$PROMETHEUS_PORT" \
    --storage.tsdb.path="$RUN_DIR/prometheus/data" \
    --web.enable-otlp-receiver \
    --enable-feature=created-timestamp-zero-ingestion

if [ -z "${EVALTRACE_COLLECTOR_TRACES_EXPORTERS:-}" ]; then
  if [ -n "${TEMPO_OTLP_ENDPOINT:-}" ]; then
    EVALTRACE_COLLECTOR_TRACES_EXPORTERS='[otlp_grpc/jaeger, otlp_grpc/tempo]'
  else
    EVALTRACE_COLLECTOR_TRACES_EXPORTERS='[otlp_grpc/jaeger]'
  fi
fi

# The collector's logs pipeline follows the storage: into OpenSearch through
# otlp_logs_opensearch.py, or dropped. A collector running with the other routing is restarted
# (its persistent queues are on disk: nothing acknowledged is lost).
if [ "$STORAGE" = opensearch ]; then
  logs_exporters='[otlp_http/opensearch]'
  start opensearch-logs "http://$HOST:$OPENSEARCH_LOGS_PORT/" "$OPENSEARCH_LOGS_PORT" -- \
    "$LOGS_PYTHON" "$SCRIPT_DIR/otlp_logs_opensearch.py" --listen "$HOST:$OPENSEARCH_LOGS_PORT" \
      --opensearch "http://$HOST:$OPENSEARCH_HTTP_PORT0,http://$HOST:$((OPENSEARCH_HTTP_PORT0 + 1)),http://$HOST:$((OPENSEARCH_HTTP_PORT0 + 2))" \
      --index "$OPENSEARCH_LOGS_INDEX"
else
  logs_exporters='[nop]'
fi
if is_running collector; then
  running_logs=$(cat "$RUN_DIR/collector/logs_exporters" 2>/dev/null || echo 'no logs pipeline')
  if [ "$running_logs" != "$logs_exporters" ]; then
    log "collector: logs go to $running_logs, restarting it to send them to $logs_exporters"
    stop_pid collector "$RUN_DIR/collector/pid"
  fi
fi

start collector "http://$HOST:$COLLECTOR_HEALTH_PORT/" \
  "$COLLECTOR_GRPC_PORT" "$COLLECTOR_HTTP_PORT" "$COLLECTOR_HEALTH_PORT" -- \
  env EVALTRACE_COLLECTOR_GRPC_ENDPOINT=$HOST:$COLLECTOR_GRPC_PORT \
      EVALTRACE_COLLECTOR_HTTP_ENDPOINT=$HOST:$COLLECTOR_HTTP_PORT \
      EVALTRACE_COLLECTOR_HEALTH_ENDPOINT=$HOST:$COLLECTOR_HEALTH_PORT \
      EVALTRACE_COLLECTOR_STORAGE_DIR="$RUN_DIR/collector/file_storage" \
      JAEGER_OTLP_ENDPOINT=$HOST:$JAEGER_OTLP_GRPC_PORT \
      PROMETHEUS_OTLP_ENDPOINT="http://$HOST:$PROMETHEUS_PORT/api/v1/otlp" \
      EVALTRACE_COLLECTOR_TRACES_EXPORTERS="$EVALTRACE_COLLECTOR_TRACES_EXPORTERS" \
      EVALTRACE_COLLECTOR_LOGS_EXPORTERS="$logs_exporters" \
      OPENSEARCH_LOGS_ENDPOINT="http://$HOST:$OPENSEARCH_LOGS_PORT" \
  "$COLLECTOR_BIN" --config "$COLLECTOR_CONFIG"
echo "$logs_exporters" >"$RUN_DIR/collector/logs_exporters"

log "up in $(( ($(date +%s%N) - t0) / 1000000 )) ms; Jaeger storage $STORAGE; collector exporters: $EVALTRACE_COLLECTOR_TRACES_EXPORTERS, logs $logs_exporters"
cat <<EOF
Backends up (run dir $RUN_DIR):
  collector OTLP gRPC   http://$HOST:$COLLECTOR_GRPC_PORT
  collector OTLP HTTP   http://$HOST:$COLLECTOR_HTTP_PORT   (POST /v1/traces, /v1/logs)
  collector health      http://$HOST:$COLLECTOR_HEALTH_PORT/
  Jaeger query HTTP     http://$HOST:$JAEGER_QUERY_HTTP_PORT   (/api/v3/...)
  Jaeger query gRPC     $HOST:$JAEGER_QUERY_GRPC_PORT     (jaeger.api_v3.QueryService)
  Jaeger OTLP gRPC/HTTP http://$HOST:$JAEGER_OTLP_GRPC_PORT / http://$HOST:$JAEGER_OTLP_HTTP_PORT
  Jaeger health         http://$HOST:$JAEGER_HEALTH_PORT/status
  Prometheus            http://$HOST:$PROMETHEUS_PORT   (/api/v1/query; OTLP in: /api/v1/otlp/v1/metrics)
  Jaeger storage        $STORAGE$([ "$STORAGE" = opensearch ] && echo " (OpenSearch http://$HOST:$OPENSEARCH_HTTP_PORT0-$((OPENSEARCH_HTTP_PORT0 + OPENSEARCH_NODES - 1)), node dirs $OPENSEARCH_DIR)")
  Evaluation log records $([ "$STORAGE" = opensearch ] && echo "OpenSearch index $OPENSEARCH_LOGS_INDEX (via http://$HOST:$OPENSEARCH_LOGS_PORT)" || echo "dropped by the collector (nop; STORAGE=opensearch keeps them)")
  Tempo                 not started (not buildable here; see docs/backends.md)
Test environment (eval "\$(deploy/scripts/backends-env.sh)"):
EOF
"$SCRIPT_DIR/backends-env.sh"
