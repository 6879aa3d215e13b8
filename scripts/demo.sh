#!/usr/bin/env bash
# The main job on one machine (the embedded single-machine default): install and build if needed, train a byte-level
# BPE tokenizer on the demo corpus (WordNet glosses, data/demo), then pretrain a small RoBERTa (masked LM) with two
# data-parallel CPU workers on an in-process cluster for a few minutes, and print where the model, the loss curve
# and the numbers are. Output: artifacts/demo/ (replaced on each run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
out=artifacts/demo
rm -rf "$out"
mkdir -p "$out"
cluster=(dotnet src/Client/bin/Release/net10.0/cluster.dll)
echo "demo: training a tokenizer on data/demo/wordnet-glosses.txt"
"${cluster[@]}" tokenizer train --kind bpe --corpus data/demo/wordnet-glosses.txt --vocab-size 8000 --out "$out/tokenizer"
cat > "$out/config.json" <<'JSON'
{"hidden_size": 128, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 512, "max_position_embeddings": 66}
JSON
echo "demo: pretraining a $(grep -o '"num_hidden_layers": [0-9]*' "$out/config.json" | grep -o '[0-9]*$')-layer RoBERTa with 2 workers"
"${cluster[@]}" pretrain --arch roberta --config "$out/config.json" --tokenizer "$out/tokenizer" \
  --corpus data/demo/wordnet-glosses.txt --workers 2 --batch-size 16 --max-length 64 --max-steps 400 \
  --lr 1e-3 --warmup 40 --checkpoint-every 100 --out "$out/model" --metrics-out "$out/metrics.json"
echo "demo: final metrics ($out/metrics.json):"
cat "$out/metrics.json"
echo
