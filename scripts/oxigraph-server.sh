#!/usr/bin/env bash
# Start or stop an Oxigraph SPARQL server on 127.0.0.1 for boostkg's remote-store tests and benches.
#
#   scripts/oxigraph-server.sh start [PORT] [DIR]   # data under DIR (default: a new temp folder)
#   scripts/oxigraph-server.sh stop [DIR]
#
# `start` prints the BOOSTKG_STORE_* settings that point boostkg at it. The server uses the union of
# its named graphs as the query default graph, as boostkg's embedded store does.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
oxigraph="${OXIGRAPH:-$here/.venv/bin/oxigraph}"
state="${TMPDIR:-/tmp}/boostkg-oxigraph.dir"

free_port() {
    "$here/.venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "${1:-}" in
start)
    if [[ ! -x "$oxigraph" ]]; then
        echo "no oxigraph binary at $oxigraph: run .venv/bin/pip install oxigraph" >&2
        exit 1
    fi
    port="${2:-$(free_port)}"
    dir="${3:-$(mktemp -d "${TMPDIR:-/tmp}/boostkg-oxigraph.XXXXXX")}"
    mkdir -p "$dir/data"
    "$oxigraph" serve --location "$dir/data" --bind "127.0.0.1:$port" --union-default-graph \
        >"$dir/server.log" 2>&1 &
    echo $! >"$dir/pid"
    echo "$dir" >"$state"
    for _ in $(seq 1 100); do
        if curl -fs -o /dev/null "http://127.0.0.1:$port/query?query=ASK%7B%7D"; then
            echo "oxigraph (pid $(cat "$dir/pid")) at http://127.0.0.1:$port, data in $dir"
            echo "BOOSTKG_STORE_URL=http://127.0.0.1:$port/query"
            echo "BOOSTKG_STORE_UPDATE_URL=http://127.0.0.1:$port/update"
            echo "BOOSTKG_STORE_GSP_URL=http://127.0.0.1:$port/store"
            exit 0
        fi
        if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
            cat "$dir/server.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "oxigraph did not answer on port $port within 10 s (log: $dir/server.log)" >&2
    exit 1
    ;;
stop)
    dir="${2:-$(cat "$state" 2>/dev/null || true)}"
    if [[ -z "$dir" || ! -f "$dir/pid" ]]; then
        echo "no oxigraph server started by this script" >&2
        exit 1
    fi
    kill "$(cat "$dir/pid")" 2>/dev/null || true
    rm -f "$dir/pid"
    echo "stopped the oxigraph server of $dir"
    ;;
*)
    echo "usage: $0 start [PORT] [DIR] | stop [DIR]" >&2
    exit 2
    ;;
esac
