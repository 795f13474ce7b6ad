#!/usr/bin/env bash
# Build the local trace backends used by evaltrace's integration tests:
#   * Jaeger v2 (github.com/jaegertracing/jaeger v1.76.0 == Jaeger v2.13.0), built from
#     the wrapper module deploy/build/jaeger (go.mod + go.sum pin every dependency);
#   * an OpenTelemetry Collector (v0.159.0) built by the OpenTelemetry Collector Builder
#     (ocb) from deploy/collector/builder-config.yaml;
#   * Prometheus and promtool (github.com/prometheus/prometheus v0.316.0 = Prometheus 3.16),
#     `go install`ed from the module proxy (~5.5 min cold on 2 cores; no web UI assets: the
#     HTTP API is what the tests and Grafana use);
#   * OpenSearch (target `opensearch` only, not part of `all`): the integ-test zip fetched from
#     Maven Central with `mvn dependency:get` into the local Maven repository, unpacked by
#     version into $EVALTRACE_OPENSEARCH_DIR (default $EVALTRACE_BACKENDS_CACHE/opensearch, or
#     /var/tmp/evaltrace-opensearch as root: the unprivileged user it runs as must reach it). It bundles no JDK (deploy/scripts/opensearch-up.sh uses the
#     system one) and no plugins (so no security plugin: plain http).
# Grafana Tempo is NOT built: the Go module proxy refuses github.com/grafana/tempo.
#
# Binaries land in a cache outside the work tree, keyed by version (and, for the
# collector, by a hash of the manifest), so a second run with the binaries present does
# nothing. Needs only `go` on PATH (modules come from the Go module proxy).
#
#   EVALTRACE_BACKENDS_CACHE   cache dir (default: $HOME/.cache/evaltrace)
#
#   EVALTRACE_MAVEN_REPO       local Maven repository (default: $HOME/.m2/repository)
#
# Usage: deploy/scripts/build-backends.sh [jaeger|collector|prometheus|opensearch|all]
# (default: all). Prints the binary paths as `JAEGER_BIN=...` / `COLLECTOR_BIN=...` /
# `PROMETHEUS_BIN=...` / `PROMTOOL_BIN=...` (or `OPENSEARCH_HOME=...`)
# lines at the end.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/scripts/backends-lib.sh
. "$SCRIPT_DIR/backends-lib.sh"

what=${1:-all}
case "$what" in
  all|jaeger|collector|prometheus|opensearch) ;;
  *) die "unknown target '$what' (expected: all, jaeger, collector, prometheus or opensearch)" ;;
esac

need_go() {
  command -v go >/dev/null 2>&1 || die "the 'go' command is not on PATH; install Go >= 1.26 (https://go.dev/dl/) to build the backends"
}

mkdir -p "$CACHE_DIR" || die "cannot create cache dir $CACHE_DIR"

# One build at a time per cache dir (a concurrent `make backends` waits here).
exec 9>"$CACHE_DIR/.build.lock"
if command -v flock >/dev/null 2>&1; then
  flock -w 3600 9 || die "timed out waiting for another build-backends.sh (lock $CACHE_DIR/.build.lock)"
fi

build_jaeger() {
  if [ -x "$JAEGER_BIN" ]; then
    log "jaeger $JAEGER_VERSION: cached at $JAEGER_BIN"
    return 0
  fi
  need_go
  local out_dir tmp start logf
  out_dir=$(dirname "$JAEGER_BIN")
  mkdir -p "$out_dir"
  tmp="$out_dir/.jaeger.tmp.$$"
  logf="$out_dir/build.log"
  start=$(date +%s)
  log "jaeger $JAEGER_VERSION: building from $JAEGER_WRAPPER_DIR (first build downloads ~1 GB of modules and takes several minutes)"
  if ! (cd "$JAEGER_WRAPPER_DIR" &&
        CGO_ENABLED=0 go build -trimpath \
          -ldflags "-X github.com/jaegertracing/jaeger/internal/version.latestVersion=$JAEGER_VERSION" \
          -o "$tmp" github.com/jaegertracing/jaeger/cmd/jaeger) >"$logf" 2>&1; then
    rm -f "$tmp"
    tail -n 30 "$logf" >&2 || true
    die "building Jaeger $JAEGER_VERSION failed: 'go build github.com/jaegertracing/jaeger/cmd/jaeger' in $JAEGER_WRAPPER_DIR (full log: $logf)"
  fi
  mv -f "$tmp" "$JAEGER_BIN"
  log "jaeger $JAEGER_VERSION: built $JAEGER_BIN in $(( $(date +%s) - start ))s"
}

build_collector() {
  if [ -x "$COLLECTOR_BIN" ]; then
    log "collector $OTELCOL_VERSION (manifest $MANIFEST_HASH): cached at $COLLECTOR_BIN"
    return 0
  fi
  need_go
  local start out_dir work logf
  start=$(date +%s)
  if [ ! -x "$OCB_BIN" ]; then
    log "ocb v$OCB_VERSION: installing into $(dirname "$OCB_BIN")"
    mkdir -p "$(dirname "$OCB_BIN")"
    GOBIN=$(dirname "$OCB_BIN") go install "go.opentelemetry.io/collector/cmd/builder@v$OCB_VERSION" ||
      die "installing the OpenTelemetry Collector Builder failed: go install go.opentelemetry.io/collector/cmd/builder@v$OCB_VERSION"
  fi
  out_dir=$(dirname "$COLLECTOR_BIN")
  work="$out_dir/src"
  logf="$out_dir/build.log"
  rm -rf "$work"
  mkdir -p "$work"
  # Same manifest, output_path pointed into the cache.
  sed -E "s|^([[:space:]]*output_path:).*|\1 $work|" "$MANIFEST" >"$out_dir/builder-config.yaml"
  grep -q "output_path: $work" "$out_dir/builder-config.yaml" ||
    die "manifest $MANIFEST has no 'output_path:' line to redirect"
  log "collector $OTELCOL_VERSION: running ocb on $MANIFEST (takes a few minutes)"
  if ! "$OCB_BIN" --config="$out_dir/builder-config.yaml" >"$logf" 2>&1; then
    tail -n 30 "$logf" >&2 || true
    die "building the collector failed: $OCB_BIN --config=$out_dir/builder-config.yaml (full log: $logf)"
  fi
  [ -x "$work/$OTELCOL_NAME" ] || die "ocb finished but $work/$OTELCOL_NAME is missing (log: $logf)"
  mv -f "$work/$OTELCOL_NAME" "$COLLECTOR_BIN"
  log "collector $OTELCOL_VERSION: built $COLLECTOR_BIN in $(( $(date +%s) - start ))s"
}

build_prometheus() {
  if [ -x "$PROMETHEUS_BIN" ] && [ -x "$PROMTOOL_BIN" ]; then
    log "prometheus v$PROMETHEUS_VERSION: cached at $PROMETHEUS_BIN (and promtool)"
    return 0
  fi
  need_go
  local out_dir tmp start logf
  out_dir=$(dirname "$PROMETHEUS_BIN")
  mkdir -p "$out_dir"
  tmp="$out_dir/.tmpbin.$$"
  logf="$out_dir/build.log"
  start=$(date +%s)
  log "prometheus v$PROMETHEUS_VERSION: go install cmd/prometheus and cmd/promtool (~5.5 min cold on 2 cores)"
  # The version `prometheus --version` prints (go install sets no ldflags): 0.3NN.M -> 3.NN.M.
  local minor=${PROMETHEUS_VERSION#0.3} version
  version="3.$((10#${minor%%.*})).${minor#*.}"
  if ! CGO_ENABLED=0 GOBIN="$tmp" go install -trimpath \
        -ldflags "-X github.com/prometheus/common/version.Version=$version" \
        "github.com/prometheus/prometheus/cmd/prometheus@v$PROMETHEUS_VERSION" \
        "github.com/prometheus/prometheus/cmd/promtool@v$PROMETHEUS_VERSION" >"$logf" 2>&1; then
    rm -rf "$tmp"
    tail -n 30 "$logf" >&2 || true
    die "building Prometheus v$PROMETHEUS_VERSION failed: go install github.com/prometheus/prometheus/cmd/{prometheus,promtool}@v$PROMETHEUS_VERSION (full log: $logf)"
  fi
  mv -f "$tmp/promtool" "$PROMTOOL_BIN"
  mv -f "$tmp/prometheus" "$PROMETHEUS_BIN"
  rm -rf "$tmp"
  log "prometheus v$PROMETHEUS_VERSION: built $PROMETHEUS_BIN and promtool in $(( $(date +%s) - start ))s"
}

install_opensearch() {
  if [ -x "$OPENSEARCH_HOME/bin/opensearch" ]; then
    log "opensearch $OPENSEARCH_VERSION: cached at $OPENSEARCH_HOME"
    return 0
  fi
  command -v unzip >/dev/null 2>&1 || die "the 'unzip' command is not on PATH (apt-get install unzip)"
  if [ ! -f "$OPENSEARCH_ZIP" ]; then
    command -v mvn >/dev/null 2>&1 ||
      die "the 'mvn' command is not on PATH; install Maven to fetch $OPENSEARCH_ARTIFACT from Maven Central"
    log "opensearch $OPENSEARCH_VERSION: fetching $OPENSEARCH_ARTIFACT (56 MB) with mvn"
    local -a repo_opt=()
    if [ -n "${EVALTRACE_MAVEN_REPO:-}" ]; then repo_opt=("-Dmaven.repo.local=$EVALTRACE_MAVEN_REPO"); fi
    mvn -q -B "${repo_opt[@]}" dependency:get "-Dartifact=$OPENSEARCH_ARTIFACT" -Dtransitive=false >&2 ||
      die "mvn dependency:get -Dartifact=$OPENSEARCH_ARTIFACT failed"
    [ -f "$OPENSEARCH_ZIP" ] ||
      die "mvn succeeded but $OPENSEARCH_ZIP is missing (a non-default local repository? set EVALTRACE_MAVEN_REPO)"
  fi
  local tmp="$OPENSEARCH_DIR/.opensearch.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  chmod 755 "$OPENSEARCH_DIR"
  unzip -q "$OPENSEARCH_ZIP" -d "$tmp" || { rm -rf "$tmp"; die "unzip $OPENSEARCH_ZIP failed"; }
  [ -x "$tmp/opensearch-$OPENSEARCH_VERSION/bin/opensearch" ] ||
    { rm -rf "$tmp"; die "$OPENSEARCH_ZIP holds no opensearch-$OPENSEARCH_VERSION/bin/opensearch"; }
  # Plain http only works without the security plugin; this distribution has no plugins at all.
  if [ -n "$(ls -A "$tmp/opensearch-$OPENSEARCH_VERSION/plugins")" ]; then
    rm -rf "$tmp"
    die "$OPENSEARCH_ZIP unexpectedly bundles plugins (security would need TLS and passwords)"
  fi
  mv "$tmp/opensearch-$OPENSEARCH_VERSION" "$OPENSEARCH_HOME"
  rm -rf "$tmp"
  log "opensearch $OPENSEARCH_VERSION: unpacked into $OPENSEARCH_HOME"
}

if [ "$what" = opensearch ]; then
  install_opensearch
  echo "OPENSEARCH_HOME=$OPENSEARCH_HOME"
  exit 0
fi
if [ "$what" = all ] || [ "$what" = jaeger ]; then build_jaeger; fi
if [ "$what" = all ] || [ "$what" = collector ]; then build_collector; fi
if [ "$what" = all ] || [ "$what" = prometheus ]; then build_prometheus; fi
if [ "$what" = all ]; then
  log "tempo: not built. The Go module proxy refuses github.com/grafana/tempo (403, AGPL-licensed module), so it cannot be built on this kind of machine; use deploy/docker-compose.yaml (grafana/tempo image) for Tempo. Continuing without it."
fi

echo "JAEGER_BIN=$JAEGER_BIN"
echo "COLLECTOR_BIN=$COLLECTOR_BIN"
echo "PROMETHEUS_BIN=$PROMETHEUS_BIN"
echo "PROMTOOL_BIN=$PROMTOOL_BIN"
