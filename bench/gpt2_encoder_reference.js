// The JavaScript reference for `Cluster.Bench tokenizer`: npm gpt-3-encoder over the lines of a text, on one thread
// and on N worker threads, each after a warm-up pass (its BPE cache filled, as ours is); the warm-up pass itself is
// timed too (empty cache). Prints one JSON object.
//   node gpt2_encoder_reference.js NODE_MODULES TEXT THREADS REPEATS
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
const path = require('path');
const fs = require('fs');

function encodeAll(encode, lines) {
  let tokens = 0;
  for (const line of lines) tokens += encode(line).length;
  return tokens;
}

if (!isMainThread) {
  const { encode } = require(path.join(workerData.modules, 'gpt-3-encoder'));
  encodeAll(encode, workerData.lines);
  parentPort.on('message', () => parentPort.postMessage(encodeAll(encode, workerData.lines)));
  parentPort.postMessage('ready');
} else {
  const [modules, textPath, threadsArg, repeatsArg] = process.argv.slice(2);
  const threads = parseInt(threadsArg, 10), repeats = parseInt(repeatsArg, 10);
  const text = fs.readFileSync(textPath, 'utf8');
  const lines = text.split('\n'); if (lines[lines.length - 1] === '') lines.pop();
  const bytes = Buffer.byteLength(text, 'utf8');
  const { encode } = require(path.join(modules, 'gpt-3-encoder'));
  const c0 = process.hrtime.bigint(); encodeAll(encode, lines);   // first pass: empty cache, code not yet optimized
  const cold = Number(process.hrtime.bigint() - c0) / 1e9;
  let best1 = Infinity, tokens = 0;
  for (let r = 0; r < repeats; r++) {
    const t0 = process.hrtime.bigint(); tokens = encodeAll(encode, lines);
    best1 = Math.min(best1, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const slices = Array.from({ length: threads }, (_, i) => lines.filter((_, j) => j % threads === i));
  const workers = slices.map(s => new Worker(__filename, { workerData: { modules, lines: s } }));
  const once = (w) => new Promise(res => w.once('message', res));
  (async () => {
    await Promise.all(workers.map(once));
    let bestN = Infinity;
    for (let r = 0; r < repeats; r++) {
      const t0 = process.hrtime.bigint();
      const done = workers.map(once); workers.forEach(w => w.postMessage('go')); await Promise.all(done);
      bestN = Math.min(bestN, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    workers.forEach(w => w.terminate());
    console.log(JSON.stringify({ bytes, tokens, seconds_cold: cold, seconds_one: best1, seconds_all: bestN, threads }));
  })();
}
