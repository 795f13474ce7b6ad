#!/usr/bin/env bash
# Install the peer trackers (gllm-evals, MLflow) into benchmarks/.venv-peers, apart from the
# project venv so evaltrace's own install stays light. Re-running is safe (pip is idempotent).
#
#   bash benchmarks/peers/setup.sh            # then: .venv/bin/python -m benchmarks
#
# Each peer is installed separately: one that fails to install is reported with pip's own error
# (in benchmarks/.venv-peers/install-<name>.log) and the others still get installed.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/../.venv-peers"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv" || exit 1
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip

status=0
install() {  # install NAME SPEC...
    local name="$1"; shift
    echo "peers: installing $name ($*)"
    if "$venv/bin/python" -m pip install --quiet "$@" >"$venv/install-$name.log" 2>&1; then
        echo "peers: $name ok"
    else
        echo "peers: $name FAILED; pip said:"
        tail -n 20 "$venv/install-$name.log"
        status=1
    fi
}

install gllm-evals "gllm-evals-binary[deepeval]==0.1.41"  # the versions RESULTS.md measured
install mlflow "mlflow==3.17.2"
"$venv/bin/python" -m pip freeze >"$venv/freeze.txt" 2>/dev/null
exit $status
