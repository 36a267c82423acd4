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
server_name=oxigraph
# shellcheck source=scripts/lib/server.sh
source "$here/scripts/lib/server.sh"
oxigraph="${OXIGRAPH:-$here/.venv/bin/oxigraph}"

case "${1:-}" in
start)
    if [[ ! -x "$oxigraph" ]]; then
        echo "no oxigraph binary at $oxigraph: run .venv/bin/pip install oxigraph" >&2
        exit 1
    fi
    port="${2:-$(server_free_port)}"
    dir="${3:-$(server_new_dir)}"
    mkdir -p "$dir/data"
    server_launch "$dir" "$oxigraph" serve --location "$dir/data" --bind "127.0.0.1:$port" --union-default-graph
    server_wait "$dir" "http://127.0.0.1:$port/query?query=ASK%7B%7D" 10 "$dir/server.log"
    echo "oxigraph (pid $(cat "$dir/pid")) at http://127.0.0.1:$port, data in $dir"
    echo "BOOSTKG_STORE_URL=http://127.0.0.1:$port/query"
    echo "BOOSTKG_STORE_UPDATE_URL=http://127.0.0.1:$port/update"
    echo "BOOSTKG_STORE_GSP_URL=http://127.0.0.1:$port/store"
    ;;
stop)
    server_stop "${2:-}"
    ;;
*)
    echo "usage: $0 start [PORT] [DIR] | stop [DIR]" >&2
    exit 2
    ;;
esac
