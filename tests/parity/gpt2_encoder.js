// Encodes each line of a UTF-8 file with the npm package gpt-3-encoder (an independent JavaScript GPT-2 BPE)
// and prints one JSON array of ids per line.  usage: node gpt2_encoder.js NODE_MODULES TEXT
const path = require('path');
const fs = require('fs');
const { encode } = require(path.join(process.argv[2], 'gpt-3-encoder'));
const lines = fs.readFileSync(process.argv[3], 'utf8').split('\n');
if (lines.length && lines[lines.length - 1] === '') lines.pop();
const out = [];
for (const line of lines) out.push(JSON.stringify(encode(line)));
fs.writeSync(1, out.join('\n') + '\n');
