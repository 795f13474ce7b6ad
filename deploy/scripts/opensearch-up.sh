#!/usr/bin/env bash
# Start a 3-node OpenSearch cluster on 127.0.0.1 (idempotent) for Jaeger's `opensearch` storage:
#   node-0 http :9200 transport :9300, node-1 :9201/:9301, node-2 :9202/:9302
# Fetches and unpacks OpenSearch first if needed (build-backends.sh opensearch). Starts only the
# nodes that are not running, then waits (bounded) until the cluster has 3 nodes and is yellow
# or green; on failure prints the tail of the failing node's log and exits 1.
#
#   --no-wait   start the missing nodes and return at once (the JVMs take a while on 2 cores);
#               a later `opensearch-up.sh` (or backends-up.sh STORAGE=opensearch) does the waiting
#
#   EVALTRACE_OPENSEARCH_HEAP     heap per node (default 1g; -Xms = -Xmx)
#   EVALTRACE_OPENSEARCH_TIMEOUT  seconds to wait for the cluster (default 240)
#   OPENSEARCH_JAVA_HOME          JDK to run on (default: the one `java` on PATH resolves to)
#   EVALTRACE_OPENSEARCH_USER     unprivileged user the nodes run as when invoked as root
#                                 (default nobody; OpenSearch refuses to run as root)
#   EVALTRACE_BACKENDS_OWNER      user (default) or test: who owns the nodes started here
#                                 (see backends-lib.sh and backends-down.sh --test-owned)
#
# Node N: $OPENSEARCH_DIR/node-N/{config,data,logs,node.log,pid} (OPENSEARCH_DIR: see
# backends-lib.sh); data kept by backends-down.sh unless --clean.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/scripts/backends-lib.sh
. "$SCRIPT_DIR/backends-lib.sh"

wait=1
for arg in "$@"; do
  case "$arg" in
    --no-wait) wait=0 ;;
    *) die "unknown argument '$arg' (expected: --no-wait)" ;;
  esac
done

HEAP=${EVALTRACE_OPENSEARCH_HEAP:-1g}
TIMEOUT=${EVALTRACE_OPENSEARCH_TIMEOUT:-240}
OS_USER=${EVALTRACE_OPENSEARCH_USER:-nobody}

if [ ! -x "$OPENSEARCH_HOME/bin/opensearch" ]; then
  "$SCRIPT_DIR/build-backends.sh" opensearch >/dev/null
fi

if [ -z "${OPENSEARCH_JAVA_HOME:-}" ]; then
  java_bin=$(command -v java 2>/dev/null) || die "no 'java' on PATH and OPENSEARCH_JAVA_HOME unset: OpenSearch needs a JDK 17+ (the integ-test zip bundles none)"
  OPENSEARCH_JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$java_bin")")")
fi
[ -x "$OPENSEARCH_JAVA_HOME/bin/java" ] || die "OPENSEARCH_JAVA_HOME=$OPENSEARCH_JAVA_HOME has no bin/java"

# As root: run as $OS_USER (no capabilities), owning its node dir; everything it reads is under
# $OPENSEARCH_DIR, which that user can reach (see backends-lib.sh).
runas=()
if [ "$(id -u)" = 0 ]; then
  uid=$(id -u "$OS_USER" 2>/dev/null) || die "user '$OS_USER' does not exist (set EVALTRACE_OPENSEARCH_USER)"
  gid=$(id -g "$OS_USER")
  command -v setpriv >/dev/null 2>&1 || die "setpriv (util-linux) is needed to run OpenSearch as $OS_USER"
  runas=(setpriv "--reuid=$uid" "--regid=$gid" --clear-groups --)
fi

node_dir() { echo "$OPENSEARCH_DIR/node-$1"; }

# is_node PIDFILE -> 0 when the pid is alive and is OpenSearch: the java process, or, while
# it starts, the setsid/setpriv/env/bin/opensearch chain that execs into it (same pid).
is_node() {
  local pid
  pid_alive "$1" || return 1
  pid=$(cat "$1")
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qi 'opensearch'
}

seeds=() managers=()
for i in $(seq 0 $((OPENSEARCH_NODES - 1))); do
  seeds+=("\"$HOST:$((OPENSEARCH_TRANSPORT_PORT0 + i))\"")
  managers+=("node-$i")
done

write_config() { # write_config I DIR
  local i=$1 dir=$2
  mkdir -p "$dir/config" "$dir/data" "$dir/logs"
  cp "$OPENSEARCH_HOME/config/log4j2.properties" "$dir/config/"
  # bin/opensearch runs from $OPENSEARCH_HOME: point jvm.options' relative gc log, error file
  # and heap dump paths into the node dir.
  sed -e "s|file=logs/gc.log|file=$dir/logs/gc.log|" -e "s|HeapDumpPath=data|HeapDumpPath=$dir/data|" \
    -e "s|ErrorFile=logs/|ErrorFile=$dir/logs/|" "$OPENSEARCH_HOME/config/jvm.options" >"$dir/config/jvm.options"
  local IFS=,
  cat >"$dir/config/opensearch.yml" <<EOF
# Written by deploy/scripts/opensearch-up.sh (rewritten on every start).
cluster.name: $OPENSEARCH_CLUSTER
node.name: node-$i
network.host: $HOST
http.port: $((OPENSEARCH_HTTP_PORT0 + i))
transport.port: $((OPENSEARCH_TRANSPORT_PORT0 + i))
discovery.seed_hosts: [${seeds[*]}]
# Only read when the cluster forms for the first time (empty data dirs).
cluster.initial_cluster_manager_nodes: [${managers[*]}]
path.data: $dir/data
path.logs: $dir/logs
EOF
}

start_node() { # start_node I
  local i=$1 dir logf
  dir=$(node_dir "$i")
  logf="$dir/node.log"
  if is_node "$dir/pid"; then
    log "opensearch node-$i: already running (pid $(cat "$dir/pid"))"
    claim_running "$dir"
    return 0
  fi
  rm -f "$dir/pid"
  local p
  for p in $((OPENSEARCH_HTTP_PORT0 + i)) $((OPENSEARCH_TRANSPORT_PORT0 + i)); do
    if port_busy "$p"; then
      die "opensearch node-$i: port $HOST:$p is already in use by another process (not started by these scripts; node dirs under $OPENSEARCH_DIR)"
    fi
  done
  write_config "$i" "$dir"
  if [ "${#runas[@]}" -gt 0 ]; then chown -R "$uid:$gid" "$dir"; fi
  echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) starting node-$i (heap $HEAP)" >>"$logf"
  log "opensearch node-$i: starting (http :$((OPENSEARCH_HTTP_PORT0 + i)), heap $HEAP), log $logf"
  # cwd = the node dir: jvm.options writes gc.log and heap dumps relative to it.
  (cd "$dir" && exec setsid "${runas[@]}" env \
    OPENSEARCH_JAVA_HOME="$OPENSEARCH_JAVA_HOME" \
    OPENSEARCH_PATH_CONF="$dir/config" \
    OPENSEARCH_JAVA_OPTS="-Xms$HEAP -Xmx$HEAP" \
    "$OPENSEARCH_HOME/bin/opensearch" >>"$logf" 2>&1 </dev/null) &
  echo $! >"$dir/pid"
  claim_started "$dir"
}

fail_node() { # fail_node I MESSAGE
  local logf
  logf="$(node_dir "$1")/node.log"
  echo "----- last lines of $logf -----" >&2
  tail -n 40 "$logf" >&2 || true
  die "$2"
}

t0=$(date +%s%N)
for i in $(seq 0 $((OPENSEARCH_NODES - 1))); do start_node "$i"; done
if [ "$wait" = 0 ]; then
  log "opensearch: nodes started, not waiting (--no-wait)"
  exit 0
fi

health="http://$HOST:$OPENSEARCH_HTTP_PORT0/_cluster/health?wait_for_nodes=$OPENSEARCH_NODES&wait_for_status=yellow&timeout=1s"
deadline=$(( $(date +%s) + TIMEOUT ))
while true; do
  for i in $(seq 0 $((OPENSEARCH_NODES - 1))); do
    if ! pid_alive "$(node_dir "$i")/pid"; then
      rm -f "$(node_dir "$i")/pid"
      fail_node "$i" "opensearch node-$i exited during startup (see $(node_dir "$i")/node.log)"
    fi
  done
  # 200 once 3 nodes are in and the status is yellow or green; 408 (or no answer) until then.
  if body=$(curl -fsS --max-time 5 "$health" 2>/dev/null); then
    status=$(echo "$body" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
    log "opensearch: cluster '$OPENSEARCH_CLUSTER' $status with $OPENSEARCH_NODES nodes in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
    break
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    curl -sS --max-time 5 "http://$HOST:$OPENSEARCH_HTTP_PORT0/_cluster/health" >&2 || true
    fail_node 0 "opensearch cluster not yellow/green with $OPENSEARCH_NODES nodes within ${TIMEOUT}s (stop it with deploy/scripts/backends-down.sh)"
  fi
  sleep 0.5
done
echo "OPENSEARCH_URLS=http://$HOST:$OPENSEARCH_HTTP_PORT0,http://$HOST:$((OPENSEARCH_HTTP_PORT0 + 1)),http://$HOST:$((OPENSEARCH_HTTP_PORT0 + 2))"
