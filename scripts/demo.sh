#!/usr/bin/env bash
# The main job on one machine (the embedded single-machine default): install and build if needed, train a byte-level
# BPE tokenizer on the demo corpus (WordNet glosses, data/demo), pretrain a small RoBERTa (masked LM) with two
# data-parallel CPU workers on an in-process cluster for a few minutes, then fine-tune a classification head on a task
# made from the same corpus (is a gloss a noun's or a verb's?) and print its held-out accuracy against the majority
# class; last, serve the model and the classifier over HTTP from two replicas and print a few answers. Output:
# artifacts/demo/ (replaced on each run).
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

# The fine-tuning task: a gloss without its word, labelled with the word's part of speech. The corpus holds WordNet's
# noun glosses, then its verb glosses (scripts/make_demo_corpus.sh); every verb gloss and every sixth noun gloss make a
# balanced set, every fifth row of which is held out.
nouns=13685
[[ $(sed -n "$((nouns + 1))p" data/demo/wordnet-glosses.txt) == hyperventilate:* ]] || { echo "demo: data/demo changed: its first verb gloss is not line $((nouns + 1))" >&2; exit 1; }
awk -v nouns=$nouns '{ i = index($0, ": "); d = substr($0, i + 2); gsub(/\\/, "\\\\", d); gsub(/"/, "\\\"", d)
  if (NR > nouns) label = "verb"; else if (NR % 6 == 0) label = "noun"; else next
  print "{\"text\": \"" d "\", \"label\": \"" label "\"}" > ((++n % 5 == 0) ? "'"$out"'/pos-eval.jsonl" : "'"$out"'/pos-train.jsonl") }' data/demo/wordnet-glosses.txt
label=$( (( $(grep -c '"label": "noun"' "$out/pos-train.jsonl") >= $(grep -c '"label": "verb"' "$out/pos-train.jsonl") )) && echo noun || echo verb)
majority=$(grep -c "\"label\": \"$label\"" "$out/pos-eval.jsonl")
total=$(wc -l < "$out/pos-eval.jsonl")
echo "demo: fine-tuning a noun/verb classifier on $(wc -l < "$out/pos-train.jsonl") glosses with 2 workers ($total held out)"
"${cluster[@]}" finetune --task sequence-classification --model-dir "$out/model" --train "$out/pos-train.jsonl" --eval "$out/pos-eval.jsonl" \
  --workers 2 --batch-size 16 --max-length 64 --epochs 2 --lr 5e-4 --warmup 20 --eval-every 100 --save-best eval_accuracy \
  --out "$out/classifier" --metrics-out "$out/classifier-metrics.json"
accuracy=$(grep -o '"eval_accuracy": [0-9.e-]*' "$out/classifier-metrics.json" | grep -o '[0-9.e-]*$')
awk -v a="$accuracy" -v m="$majority" -v t="$total" 'BEGIN { printf "demo: held-out accuracy %.4f against %.4f for the majority class ('"$label"'); the model is in %s\n", a, m / t, "'"$out"'/classifier" }'


# Serving what was trained: the pretrained model (fill-mask, embeddings) with the classifier as its "pos" head, two
# replicas on an in-process cluster, asked over HTTP.
echo "demo: serving $out/model with the classifier as head 'pos' (2 replicas)"
"${cluster[@]}" serve --model demo="$out/model" --head demo:pos="$out/classifier" --replicas 2 --port "${CLUSTER_DEMO_PORT:-0}" > "$out/serve.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 600); do grep -q '^serving on' "$out/serve.log" && break; kill -0 $server 2>/dev/null || break; sleep 0.5; done
grep -q '^serving on' "$out/serve.log" || { echo "demo: the server did not start:" >&2; cat "$out/serve.log" >&2; exit 1; }
url=$(sed -n 's/^serving on \([^,]*\).*/\1/p' "$out/serve.log")
ask() { echo "demo: POST $url/v1/models/demo/$1 $2"; "${cluster[@]}" predict --url "$url" --model demo --task "$1" "${@:3}" | tr -s ' \n' ' ' | cut -c1-400; echo; }
ask pos '"a small domesticated carnivorous mammal"' --parameters '{"top_k": null}' "a small domesticated carnivorous mammal"
ask pos '"move fast by using one'"'"'s feet"' "move fast by using one's feet"
ask fill-mask '"a large <mask> of water"' --parameters '{"top_k": 3}' "a large <mask> of water"
echo "demo: try it yourself while it runs: curl -s $url/v1/models/demo/pos -H 'Content-Type: application/json' -d '{\"inputs\": \"a tool for cutting\"}'"
if [[ -t 0 ]]; then
  echo "demo: serving on $url until Ctrl-C"
  wait $server || true
fi
