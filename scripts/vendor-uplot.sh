#!/usr/bin/env bash
# Re-vendor uPlot from the npm registry into src/evaltrace/ui/static/ (make vendor-uplot).
# The UI ships it inside the package so pages and reports draw charts without any network.
set -euo pipefail
VERSION="${1:-1.6.32}"
DEST="$(cd "$(dirname "$0")/.." && pwd)/src/evaltrace/ui/static"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack "uplot@$VERSION" --silent >/dev/null && tar xzf "uplot-$VERSION.tgz")
cp "$WORK/package/dist/uPlot.iife.min.js" "$WORK/package/dist/uPlot.min.css" "$DEST/"
cp "$WORK/package/LICENSE" "$DEST/uPlot.LICENSE"
sed -i "s/^uPlot [0-9.]*,/uPlot $VERSION,/" "$DEST/NOTICE"
echo "vendored uPlot $VERSION into $DEST"
