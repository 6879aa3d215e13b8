#!/usr/bin/env bash
# Builds RoCBert's word_shape.json and word_pronunciation.json for a WordPiece vocab.txt from data npm packages
# ship: stroke medians (hanzi-writer-data, from Make Me a Hanzi) and toned pinyin (pinyin-pro, exported here to a
# character<TAB>pinyin table with node).   bash scripts/rocbert_maps.sh VOCAB_TXT OUT_DIR
set -euo pipefail
vocab=$(realpath "$1"); out=$(realpath -m "$2")
cd "$(dirname "$0")/.."
modules=$(bash scripts/npm_reference.sh)
table=$(mktemp)
node -e '
const { pinyin } = require(process.argv[1] + "/pinyin-pro");
const seen = new Set();
for (const token of require("fs").readFileSync(process.argv[2], "utf8").split("\n")) {
  const ch = token.startsWith("##") ? token.slice(2) : token;
  if ([...ch].length !== 1 || seen.has(ch) || !/\p{Script=Han}/u.test(ch)) continue;
  seen.add(ch);
  const p = pinyin(ch);
  if (p && p !== ch) console.log(ch + "\t" + p);
}' "$modules" "$vocab" > "$table"
dotnet src/Client/bin/Release/net10.0/cluster.dll tokenizer rocbert-maps --vocab "$vocab" \
  --hanzi-dir "$modules/hanzi-writer-data" --pinyin "$table" --out "$out"
