#!/usr/bin/env bash
# Runs the benchmarks; each prints its table with the reference measured in the same run.
#   bash bench/run.sh [torch|model|all]   (default: all)
#     torch: per-call overhead of small ops and large-matmul throughput vs PyTorch from Python
#     model: roberta-base forward and forward+backward tokens/s vs the same architecture in PyTorch
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --bench
suites=("${1:-all}")
[[ "${suites[0]}" == "all" ]] && suites=(torch model)
status=0
for suite in "${suites[@]}"; do
  dotnet run -c Release --no-build --project bench/Cluster.Bench -- "$suite" || status=1
  echo
done
exit $status
