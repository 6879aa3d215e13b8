"""Loads the model directories our `cluster model init` wrote (config.json + model.safetensors) with
Hugging Face transformers' from_pretrained, runs the inputs `cluster infer` ran, and compares
transformers' outputs with ours. Shows that what we save, transformers loads, keys and numbers.

    python3 check_our_checkpoints.py DIR   # DIR/<model>/{config.json, model.safetensors, HEAD.input.json, HEAD.output.json}
"""
import glob
import json
import os
import sys

import torch
import transformers

CLASSES = {("roberta", "masked-lm"): "RobertaForMaskedLM", ("roberta", "base"): "RobertaModel",
           ("roc_bert", "pretraining"): "RoCBertForPreTraining", ("roc_bert", "base"): "RoCBertModel"}
COMPARED = ("last_hidden_state", "logits", "loss", "start_logits", "end_logits")


def main(root):
    worst_all, failures = 0.0, 0
    print(f"transformers {transformers.__version__}")
    for model_dir in sorted(d for d in glob.glob(os.path.join(root, "*")) if os.path.isdir(d)):
        model_type = json.load(open(os.path.join(model_dir, "config.json")))["model_type"]
        for input_file in sorted(glob.glob(os.path.join(model_dir, "*.input.json"))):
            head = os.path.basename(input_file)[: -len(".input.json")]
            cls = getattr(transformers, CLASSES[(model_type, head)])
            model, info = cls.from_pretrained(model_dir, attn_implementation="eager", output_loading_info=True)
            model.eval()
            # a bare body loaded from a head's checkpoint lacks the pooler (our init did not write one
            # either) and does not use the head's weights; the head itself must match key for key
            missing = [k for k in info["missing_keys"] if not (head == "base" and "pooler" in k)]
            unexpected = [] if head == "base" else list(info["unexpected_keys"])
            inputs = {k: torch.tensor(v) for k, v in json.load(open(input_file)).items()}
            ours = json.load(open(os.path.join(model_dir, head + ".output.json")))
            with torch.no_grad():
                out = model(**inputs)
            for name in COMPARED:
                if name not in ours:
                    continue
                theirs = getattr(out, name)
                mine = torch.tensor(ours[name], dtype=torch.float32)
                d = ((theirs.float().reshape(mine.shape) - mine).abs() / mine.abs().clamp(min=1)).max().item()
                worst_all = max(worst_all, d)
                print(f"{os.path.basename(model_dir):10} {cls.__name__:24} {name:18} max difference {d:.2e}")
            if missing or unexpected:
                failures += 1
                print(f"  keys transformers did not find: {missing}; keys it did not expect: {unexpected}")
    ok = worst_all <= 1e-5 and failures == 0
    print(f"our checkpoints in transformers: worst difference {worst_all:.2e}, key problems {failures}: {'OK' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
