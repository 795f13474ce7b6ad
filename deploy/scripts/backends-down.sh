#!/usr/bin/env bash
# Stop the backends started by deploy/scripts/backends-up.sh / opensearch-up.sh (idempotent):
# the collector, its OpenSearch log store process, Jaeger, Prometheus and the OpenSearch nodes. Data is kept: the collector's persistent
# queue and OpenSearch's indices (so the next `backends-up STORAGE=opensearch` finds every run
# again; Prometheus keeps its TSDB); Jaeger's memory store is lost on any stop.
#   --clean       also delete the data: logs, the collector's persistent queues (spans not yet
#                 delivered are lost), the OpenSearch node dirs (every stored trace) and Prometheus's TSDB
#   --test-owned  stop only the servers a test session started (EVALTRACE_BACKENDS_OWNER=test,
#                 see backends-lib.sh); leave the user's running
# Run by a test session (EVALTRACE_BACKENDS_OWNER=test), a full stop keeps the owner records,
# so what it starts again stays whoever's it was; run by a user, it forgets them.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/scripts/backends-lib.sh
. "$SCRIPT_DIR/backends-lib.sh"

clean=0
test_owned=0
for arg in "$@"; do
  case "$arg" in
    --clean) clean=1 ;;
    --test-owned) test_owned=1 ;;
    *) die "unknown argument '$arg' (expected: --clean, --test-owned)" ;;
  esac
done
[ "$clean" = 0 ] || [ "$test_owned" = 0 ] || die "--clean and --test-owned do not go together"

# stop NAME DIR [GRACE]: the server whose pid file is DIR/pid.
stop() {
  local name=$1 dir=$2 grace=${3:-20}
  if [ "$test_owned" = 1 ] && [ "$(cat "$dir/owner" 2>/dev/null || echo user)" != test ]; then
    if pid_alive "$dir/pid"; then log "$name: left running (the user's, not the test session's)"; fi
    return 0
  fi
  stop_pid "$name" "$dir/pid" "$grace"
  if [ "$OWNER" = user ]; then rm -f "$dir/owner"; fi
}

# Collector first so it can hand its last batches to Jaeger (or persist them).
stop collector "$RUN_DIR/collector"
stop opensearch-logs "$RUN_DIR/opensearch-logs"
stop jaeger "$RUN_DIR/jaeger"
stop prometheus "$RUN_DIR/prometheus"
# All nodes at once: one by one, the survivors would start recovering the leavers' shards.
pids=()
for dir in "$OPENSEARCH_DIR"/node-*; do
  [ -d "$dir" ] || continue
  stop "opensearch $(basename "$dir")" "$dir" 60 &
  pids+=("$!")
done
for pid in "${pids[@]}"; do wait "$pid"; done

if [ "$clean" = 1 ]; then
  rm -rf "$RUN_DIR/collector" "$RUN_DIR/jaeger" "$RUN_DIR/prometheus" "$RUN_DIR/opensearch-logs"
  rmdir "$RUN_DIR" 2>/dev/null || true
  rm -rf "$OPENSEARCH_DIR"/node-*
  log "removed runtime data under $RUN_DIR and the OpenSearch node dirs under $OPENSEARCH_DIR"
fi
