#!/usr/bin/env bash
# Runs the benchmarks; each prints its table with the reference measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --bench
dotnet run -c Release --no-build --project bench/Cluster.Bench -- torch "$@"
