#!/usr/bin/env bash
# Opt-in parity check against a real vocabulary (not part of the default test run: it needs the npm registry).
# Encodes a large varied text with `cluster tokenize` (GPT-2's vocabulary, no special tokens) and with the
# independent JavaScript encoder in npm's gpt-3-encoder, and compares the ids line by line.
#   bash tests/parity/gpt2_parity.sh [MEGABYTES]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/bootstrap.sh
modules=$(bash scripts/npm_reference.sh)
work=$(mktemp -d)
python3 tests/parity/make_text.py "$work/text.txt" --megabytes "${1:-4}"
node tests/parity/gpt2_encoder.js "$modules" "$work/text.txt" > "$work/js.jsonl"
dotnet src/Client/bin/Release/net10.0/cluster.dll tokenize --model-dir artifacts/gpt2 --no-special-tokens < "$work/text.txt" > "$work/ours.jsonl"
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
text = open(f"{work}/text.txt", encoding="utf-8").read().split("\n")[:-1]
js = [json.loads(l) for l in open(f"{work}/js.jsonl")]
ours = [json.loads(l)["input_ids"] for l in open(f"{work}/ours.jsonl")]
assert len(js) == len(ours) == len(text), (len(js), len(ours), len(text))
bad = [i for i in range(len(js)) if js[i] != ours[i]]
chars = sum(len(t) for t in text)
print(f"gpt-3-encoder parity: {len(text)} lines, {chars} characters, {sum(map(len, js))} tokens, {len(bad)} lines differ")
for i in bad[:5]:
    print(f"  line {i + 1}: {text[i][:80]!r}\n    js:   {js[i][:20]}\n    ours: {ours[i][:20]}")
sys.exit(1 if bad else 0)
PY
