#!/usr/bin/env bash
# Stops what deploy/local/up.sh started, by the PIDs it recorded: TERM, then KILL after 30 s; then PostgreSQL. Fails
# if any of those processes, or a listener on their ports, is left.
set -euo pipefail
cd "$(dirname "$0")/../.."
state=$(realpath -m "${CLUSTER_LOCAL_STATE:-artifacts/local}")
[[ -f $state/processes ]] || { echo "down: nothing is up in $state" >&2; exit 0; }
pids=$(awk '{ print $2 }' "$state/processes")
ports=$(awk '$1 ~ /^silo-/ { print $3, $4, $5, $6 }' "$state/processes")
for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
for _ in $(seq 30); do
  alive=$(for pid in $pids; do kill -0 "$pid" 2>/dev/null && echo "$pid"; done || true)
  [[ -z $alive ]] && break
  sleep 1
done
for pid in ${alive:-}; do echo "down: $pid did not stop in 30 s: killing it" >&2; kill -KILL "$pid" 2>/dev/null || true; done
sleep 0.5
pg_port=$(sed -n 's/.*Port=\([0-9]*\).*/\1/p' "$state/connection" 2>/dev/null || true)
bash scripts/test_postgres.sh stop "$state/postgres"
left=$(for pid in $pids; do kill -0 "$pid" 2>/dev/null && echo "$pid"; done || true)
listening=$(for port in $ports $pg_port; do ss -Hltn "sport = :$port" | grep -q . && echo "$port"; done || true)
rm -f "$state/processes"
if [[ -n $left || -n $listening ]]; then echo "down: left behind: processes [${left//$'\n'/ }] ports [${listening//$'\n'/ }]" >&2; exit 1; fi
echo "down: stopped everything deploy/local/up.sh started (logs kept in $state/logs)"
