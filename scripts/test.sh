#!/usr/bin/env bash
# The whole test suite: install and build if needed, run every test project, and close with
# one "N passed, N failed, N skipped" line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --test

# PostgreSQL membership is tested against a real server: a throwaway one on loopback.
pgdir=$(mktemp -d /tmp/cluster-pg.XXXXXX)
trap 'bash scripts/test_postgres.sh stop "$pgdir"' EXIT
CLUSTER_TEST_POSTGRES=$(bash scripts/test_postgres.sh start "$pgdir")
export CLUSTER_TEST_POSTGRES

out=$(mktemp)
set +e
dotnet test Cluster.sln -c Release --no-build -nologo --logger "console;verbosity=detailed" >"$out" 2>&1
status=$?
set -e

# Show only what needs reading: each failed or skipped test with its message (a skip's reason),
# build or run errors, and each assembly's totals.
awk '/^  (Failed|Skipped) /{block=1} block{print} /^$/{block=0}
     /error|Test Run (Successful|Failed|Aborted)/ && !block{print}' "$out"

total() { { grep -E "^ +$1: +[0-9]+ *$" "$out" || true; } | awk '{s+=$2} END {print s+0}'; }
passed=$(total Passed)
failed=$(total Failed)
skipped=$(total Skipped)
rm -f "$out"
echo "$passed passed, $failed failed, $skipped skipped"
if [[ $status -ne 0 || $failed -ne 0 || $passed -eq 0 ]]; then exit 1; fi
