# The start/wait/stop shape shared by scripts/*-server.sh: a scratch SPARQL server on 127.0.0.1 run
# from its own folder, its pid in DIR/pid, its output in DIR/server.log, and the folder of the last
# one started remembered in $TMPDIR/boostkg-NAME.dir so that `stop` needs no argument.
#
# Sourced, not run. The sourcing script sets `server_name` (oxigraph, virtuoso) and `here` (the
# repository root) first.

server_state_file() {
    echo "${TMPDIR:-/tmp}/boostkg-$server_name.dir"
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
server_free_port() {
    "$here/.venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A new empty folder for a server's data.
server_new_dir() {
    mktemp -d "${TMPDIR:-/tmp}/boostkg-$server_name.XXXXXX"
}

# server_launch DIR COMMAND [ARG...]: run COMMAND in the background from DIR, output to
# DIR/server.log; record its pid and remember DIR.
server_launch() {
    local dir="$1"
    shift
    (cd "$dir" && exec "$@" >"$dir/server.log" 2>&1) &
    echo $! >"$dir/pid"
    echo "$dir" >"$(server_state_file)"
}

# server_wait DIR URL SECONDS LOG [LOG...]: return 0 as soon as a GET of URL succeeds; 1, with the
# end of each LOG on stderr, if the server exits first or does not answer within SECONDS.
server_wait() {
    local dir="$1" url="$2" seconds="$3"
    shift 3
    local pid
    pid="$(cat "$dir/pid")"
    for _ in $(seq 1 $((seconds * 10))); do
        if curl -fs -o /dev/null "$url"; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$server_name (pid $pid) exited before answering at $url:" >&2
            tail -n 30 "$@" >&2 || true
            return 1
        fi
        sleep 0.1
    done
    echo "$server_name did not answer at $url within $seconds s (log: $*)" >&2
    return 1
}

# server_stop [DIR]: stop the server of DIR (default: the last one started) and forget its pid.
server_stop() {
    local dir="${1:-$(cat "$(server_state_file)" 2>/dev/null || true)}"
    if [[ -z "$dir" || ! -f "$dir/pid" ]]; then
        echo "no $server_name server started by this script" >&2
        return 1
    fi
    kill "$(cat "$dir/pid")" 2>/dev/null || true
    rm -f "$dir/pid"
    echo "stopped the $server_name server of $dir"
}
