#!/usr/bin/env bash
# Writes .gpu/ours: two model directories made by our own CLI (`cluster model init`, RoBERTa masked
# LM and RoCBert pre-training, small configs) with the outputs `cluster infer` gives for a few
# inputs. scripts/gpu/run.sh ours loads them with transformers and compares (check_our_checkpoints.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build src/Client -c Release -v q -nologo >/dev/null
cluster=src/Client/bin/Release/net10.0/cluster
out=.gpu/ours
rm -rf "$out" && mkdir -p "$out"
echo '{"vocab_size": 120, "hidden_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 96,
       "max_position_embeddings": 40, "type_vocab_size": 1}' > "$out/roberta_config.json"
echo '{"vocab_size": 120, "hidden_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 96,
       "max_position_embeddings": 40, "shape_vocab_size": 30, "pronunciation_vocab_size": 25, "shape_embed_dim": 16,
       "pronunciation_embed_dim": 12}' > "$out/roc_bert_config.json"
$cluster model init --arch roberta --config "$out/roberta_config.json" --out "$out/roberta" --seed 3
$cluster model init --arch roc_bert --config "$out/roc_bert_config.json" --out "$out/roc_bert" --seed 4

ids='[[0, 15, 27, 99, 4, 2, 1, 1], [0, 77, 5, 31, 64, 13, 8, 2]]'
mask='[[1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1]]'
echo "{\"input_ids\": $ids, \"attention_mask\": $mask}" > "$out/roberta/base.input.json"
echo "{\"input_ids\": $ids, \"attention_mask\": $mask, \"labels\": [[-100, 15, -100, -100, 4, -100, -100, -100],
      [-100, -100, 5, -100, -100, 13, -100, -100]]}" > "$out/roberta/masked-lm.input.json"

sentence() {  # $1: prefix of the field names, $2..: ids, shape ids, pronunciation ids
  echo "\"${1}input_ids\": $2, \"${1}input_shape_ids\": $3, \"${1}input_pronunciation_ids\": $4,
        \"${1}attention_mask\": [[1, 1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1, 1]],
        \"${1}token_type_ids\": [[0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1, 1]]"
}
original=$(sentence "" '[[101, 15, 27, 99, 4, 102, 0], [101, 77, 5, 31, 64, 13, 102]]' \
  '[[1, 5, 7, 9, 4, 2, 0], [1, 17, 5, 21, 6, 13, 2]]' '[[1, 3, 7, 9, 4, 2, 0], [1, 17, 5, 21, 6, 13, 2]]')
attacked=$(sentence attack_ '[[101, 16, 2, 18, 13, 102, 0], [101, 12, 16, 14, 13, 0, 102]]' \
  '[[1, 16, 2, 8, 13, 2, 0], [1, 12, 16, 4, 19, 0, 2]]' '[[1, 3, 2, 8, 13, 2, 0], [1, 12, 16, 4, 19, 0, 2]]')
target=$(sentence labels_ '[[101, 15, 27, 99, 4, 102, 0], [101, 77, 5, 31, 64, 13, 102]]' \
  '[[1, 5, 7, 9, 4, 2, 0], [1, 17, 5, 21, 6, 13, 2]]' '[[1, 3, 7, 9, 4, 2, 0], [1, 17, 5, 21, 6, 13, 2]]')
echo "{$original}" > "$out/roc_bert/base.input.json"
echo "{$original, $attacked, $target}" > "$out/roc_bert/pretraining.input.json"

for head in base masked-lm; do $cluster infer --model-dir "$out/roberta" --head $head --input "$out/roberta/$head.input.json" > "$out/roberta/$head.output.json"; done
for head in base pretraining; do $cluster infer --model-dir "$out/roc_bert" --head $head --input "$out/roc_bert/$head.input.json" > "$out/roc_bert/$head.output.json"; done
ls "$out"/*/
