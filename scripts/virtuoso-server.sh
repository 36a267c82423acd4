#!/usr/bin/env bash
# Start or stop a Virtuoso Open Source server (Debian's virtuoso-opensource) on 127.0.0.1, run
# unprivileged from its own folder with its own virtuoso.ini, for boostkg's remote-store tests.
#
#   scripts/virtuoso-server.sh start [DIR] [HTTP_PORT] [SQL_PORT]   # DIR default: a new temp folder
#   scripts/virtuoso-server.sh stop [DIR]
#
# `start` prints the BOOSTKG_STORE_* settings: queries to /sparql (anonymous), updates and Graph
# Store writes to /sparql-auth and /sparql-graph-crud-auth as dba (Digest; the password is `dba`,
# the package's default: a scratch server only). Install: apt-get install -y virtuoso-opensource.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
server_name=virtuoso
# shellcheck source=scripts/lib/server.sh
source "$here/scripts/lib/server.sh"
virtuoso="${VIRTUOSO:-$(command -v virtuoso-t || true)}"
isql="${ISQL:-$(command -v isql-vt || true)}"
vad=/usr/share/virtuoso-opensource-7/vad

case "${1:-}" in
start)
    if [[ -z "$virtuoso" || -z "$isql" ]]; then
        echo "virtuoso-t or isql-vt not found: apt-get install -y virtuoso-opensource" >&2
        exit 1
    fi
    dir="${2:-$(server_new_dir)}"
    http_port="${3:-$(server_free_port)}"
    sql_port="${4:-$(server_free_port)}"
    mkdir -p "$dir/db"
    cat >"$dir/virtuoso.ini" <<INI
[Database]
DatabaseFile       = $dir/db/virtuoso.db
ErrorLogFile       = $dir/db/virtuoso.log
LockFile           = $dir/db/virtuoso.lck
TransactionFile    = $dir/db/virtuoso.trx
xa_persistent_file = $dir/db/virtuoso.pxa
ErrorLogLevel      = 7
FileExtend         = 200
MaxCheckpointRemap = 2000
Striping           = 0
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile       = $dir/db/virtuoso-temp.db
TransactionFile    = $dir/db/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping           = 0

[Parameters]
ServerPort               = 127.0.0.1:$sql_port
DisableUnixSocket        = 1
MaxClientConnections     = 20
CheckpointInterval       = 60
CaseMode                 = 2
DirsAllowed              = ., $dir, $vad
VADInstallDir            = $vad/
NumberOfBuffers          = 20000
MaxDirtyBuffers          = 15000
MaxQueryMem              = 500M
ThreadsPerQuery          = 2

[HTTPServer]
ServerPort                  = 127.0.0.1:$http_port
ServerRoot                  = /var/lib/virtuoso-opensource-7/vsp
MaxClientConnections        = 20
ServerThreads               = 20
MaxKeepAlives               = 20
KeepAliveTimeout            = 10
Charset                     = UTF-8
EnabledGzipContent          = 0

[SPARQL]
; 7.2.5 cuts SELECT results at ResultSetMaxRows without saying so: make the cap far above any answer
ResultSetMaxRows           = 10000000
MaxQueryCostEstimationTime = 400
MaxQueryExecutionTime      = 120
INI
    server_launch "$dir" "$virtuoso" +foreground +configfile "$dir/virtuoso.ini"
    server_wait "$dir" "http://127.0.0.1:$http_port/sparql?query=ASK%7B%7D" 60 "$dir/server.log" "$dir/db/virtuoso.log"
    echo "virtuoso (pid $(cat "$dir/pid")) at http://127.0.0.1:$http_port, data in $dir"
    echo "BOOSTKG_STORE_URL=http://127.0.0.1:$http_port/sparql"
    echo "BOOSTKG_STORE_UPDATE_URL=http://127.0.0.1:$http_port/sparql-auth"
    echo "BOOSTKG_STORE_GSP_URL=http://127.0.0.1:$http_port/sparql-graph-crud-auth"
    echo "BOOSTKG_STORE_USER=dba"
    echo "BOOSTKG_STORE_PASSWORD=dba"
    echo "VIRTUOSO_SQL_PORT=$sql_port"
    ;;
stop)
    server_stop "${2:-}"
    ;;
*)
    echo "usage: $0 start [DIR] [HTTP_PORT] [SQL_PORT] | stop [DIR]" >&2
    exit 2
    ;;
esac
