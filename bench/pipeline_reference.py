"""The reference side of `Cluster.Bench pipeline`: transformers' text-classification pipeline on the model directory
the bench saved, answering the same glosses.

    python3 pipeline_reference.py MODEL_DIR CORPUS DEVICE DTYPE

The first line names the versions, or says "none: ..." where transformers is not installed (then nothing else runs).
Requests on stdin, each answered with requests per second: "serial SECONDS" calls the pipeline on one gloss at a
time, one call after another, for SECONDS (how a server would call it per request); "batched SECONDS BATCH" hands it
lists of glosses with batch_size BATCH for at least SECONDS (its offline best).
"""
import inspect
import json
import sys
import time

import torch


def main():
    directory, corpus, device, dtype = sys.argv[1], sys.argv[2], sys.argv[3], getattr(torch, sys.argv[4])
    with open(corpus, encoding="utf-8") as f:  # as the bench reads them: the text after the first ": ", non-empty
        glosses = [g for g in (line.rstrip("\n")[line.find(": ") + 2:] for line in f) if g][:4000]
    try:
        import transformers
    except ImportError:
        print(json.dumps({"version": "none: transformers is not installed"}), flush=True)
        return
    # transformers 5 names the argument dtype; 4.x took torch_dtype (and would pass an unknown dtype= on to the tokenizer)
    key = "dtype" if "dtype" in inspect.signature(transformers.pipeline).parameters else "torch_dtype"
    pipe = transformers.pipeline("text-classification", model=directory, device=device, **{key: dtype})
    for g in glosses[:16]:
        pipe(g)
    print(json.dumps({"version": f"transformers {transformers.__version__}, PyTorch {torch.__version__}, "
                                 f"the pipeline's model in {pipe.model.dtype} on {pipe.model.device}"}), flush=True)
    for line in sys.stdin:
        words = line.split()
        seconds, done, start = float(words[1]), 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            if words[0] == "serial":
                pipe(glosses[done % len(glosses)])
                done += 1
            else:
                batch = int(words[2])
                chunk = [glosses[(done + k) % len(glosses)] for k in range(batch * 4)]
                pipe(chunk, batch_size=batch)
                done += len(chunk)
        print(done / (time.perf_counter() - start), flush=True)


if __name__ == "__main__":
    main()
