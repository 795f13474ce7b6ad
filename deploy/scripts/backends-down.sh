#!/usr/bin/env bash
# Stop the backends started by deploy/scripts/backends-up.sh (idempotent).
#   --clean   also delete the run dir's data: logs and the collector's persistent
#             queues (spans not yet delivered are lost). Jaeger keeps traces in memory
#             only, so they are gone after a stop anyway.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/scripts/backends-lib.sh
. "$SCRIPT_DIR/backends-lib.sh"

clean=0
for arg in "$@"; do
  case "$arg" in
    --clean) clean=1 ;;
    *) die "unknown argument '$arg' (expected: --clean)" ;;
  esac
done

stop() {
  local name=$1 pidf="$RUN_DIR/$1/pid" pid i
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
  for i in $(seq 1 100); do # up to 20 s for a graceful shutdown (queues flush)
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name: pid $pid ignored SIGTERM for 20s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidf"
  log "$name: stopped (pid $pid)"
}

# Collector first so it can hand its last batches to Jaeger (or persist them).
stop collector
stop jaeger

if [ "$clean" = 1 ]; then
  rm -rf "$RUN_DIR/collector" "$RUN_DIR/jaeger"
  rmdir "$RUN_DIR" 2>/dev/null || true
  log "removed runtime data under $RUN_DIR"
fi
