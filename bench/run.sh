#!/usr/bin/env bash
# Runs the benchmarks; each prints its table with the reference measured in the same run.
#   bash bench/run.sh [torch|model|tokenizer|runtime|train|serve|all]   (default: all)
#     torch: per-call overhead of small ops and large-matmul throughput vs PyTorch from Python
#     model: roberta-base forward and forward+backward tokens/s vs the same architecture in PyTorch
#     tokenizer: GPT-2 BPE MB/s and tokens/s vs npm's gpt-3-encoder (JavaScript), one thread and all cores; RoCBert's
#                WordPiece path vs Microsoft.ML.Tokenizers' BertTokenizer on the same vocabulary and text
#     runtime: Orleans grain-call latency and calls/s (local, silo to silo across two processes, client via a
#              gateway); 64 and 256 MB over the bulk channel between the two silos vs a raw TCP socket between two processes
#     train: all-reduce of 4/64/256 MB with both backends vs a raw loopback socket copy; pretraining tokens/s with 1
#            worker and 2 workers in two Cluster.Silo processes (1 thread each), scaling efficiency; fine-tuning
#            samples/s (sequence classification, 128 tokens), 1 and 2 workers (2 with 25 and 4 MB buckets)
#     serve: the HTTP API under closed-loop load (1, 8, 64 clients) for a tiny config and roberta-base's on one CPU
#            replica: requests/s, tokens/s, p50/p99, against the same model answering one request at a time
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --bench
suites=("${1:-all}")
[[ "${suites[0]}" == "all" ]] && suites=(torch model tokenizer runtime train serve)
status=0
for suite in "${suites[@]}"; do
  if [[ $suite == tokenizer ]]; then
    # GPT-2's vocabulary and the JavaScript reference come from npm; the text is generated (seeded).
    bash scripts/npm_reference.sh >/dev/null
    mkdir -p artifacts/bench
    [[ -f artifacts/bench/text.txt ]] || python3 tests/parity/make_text.py artifacts/bench/text.txt --megabytes 1
  fi
  dotnet run -c Release --no-build --project bench/Cluster.Bench -- "$suite" || status=1
  echo
done
exit $status
