#!/usr/bin/env bash
# Rebuilds data/demo/wordnet-glosses.txt, the demo pretraining corpus, from Debian's wordnet-base (WordNet 3.0,
# Princeton's licence: data/demo/LICENSE.wordnet). One line per synset: "lemma: gloss", nouns and verbs, every
# sixth synset, in WordNet's file order (deterministic).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=/usr/share/wordnet
[[ -f $dir/data.noun ]] || { echo "make_demo_corpus: install wordnet-base first (apt-get install wordnet-base)" >&2; exit 1; }
for pos in noun verb; do
  grep -v '^  ' "$dir/data.$pos" | awk -F' \\| ' 'NR % 6 == 0 { split($1, f, " "); word = f[5]; gsub("_", " ", word); sub(/ +$/, "", $2); print word ": " $2 }'
done > data/demo/wordnet-glosses.txt
wc -l -c data/demo/wordnet-glosses.txt
