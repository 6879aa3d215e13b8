#!/usr/bin/env bash
# A throwaway PostgreSQL for the membership tests: a fresh data directory, loopback only, trust auth.
#   scripts/test_postgres.sh start DIR   prints the Npgsql connection string
#   scripts/test_postgres.sh stop DIR
# PostgreSQL refuses to run as root, so as root the server runs as the "postgres" user.
set -euo pipefail
action=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
port=${CLUSTER_TEST_POSTGRES_PORT:-54329}
as_owner=()
if [[ $(id -u) -eq 0 ]]; then as_owner=(runuser -u postgres --); fi

case "$action" in
  start)
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres "$dir"
    "${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U cluster --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    echo "Host=127.0.0.1;Port=$port;Username=cluster;Database=postgres;Pooling=true"
    ;;
  stop)
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
