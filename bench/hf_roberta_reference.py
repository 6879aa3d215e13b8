"""The reference side of `Cluster.Bench model --device cuda`: Hugging Face transformers' own
RobertaModel (the roberta-base config, random weights, no pooler) with SDPA attention, on the GPU
machine's PyTorch, in the dtype asked for.

    python3 hf_roberta_reference.py BATCH DEVICE DTYPE ITERS

It serves the same requests as roberta_reference.py, one per line on stdin: "forward T" or
"forward_backward T" runs that pass ITERS times back to back on one (BATCH, T) input and prints the
mean seconds per pass, timed from a device synchronize to a device synchronize.
"""
import json
import sys
import time

import torch
import transformers


def main():
    batch, device, dtype, iters = int(sys.argv[1]), sys.argv[2], getattr(torch, sys.argv[3]), int(sys.argv[4])
    torch.manual_seed(0)
    config = transformers.RobertaConfig(max_position_embeddings=514, type_vocab_size=1, attn_implementation="sdpa")
    model = transformers.RobertaModel(config, add_pooling_layer=False).to(device, dtype)
    print(json.dumps({"version": f"transformers {transformers.__version__}, PyTorch {torch.__version__}, "
                                 f"attention {model.config._attn_implementation}"}), flush=True)
    for line in sys.stdin:
        kind, T = line.split()
        print(run(model, batch, kind, int(T), device, iters), flush=True)


def run(model, batch, kind, T, device, iters):
    ids = torch.randint(3, model.config.vocab_size, (batch, T), device=device)
    mask = torch.ones(batch, T, dtype=torch.long, device=device)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(iters):
        if kind == "forward":
            model.eval()
            with torch.inference_mode():
                model(input_ids=ids, attention_mask=mask)
        else:
            model.train()
            model.zero_grad(set_to_none=True)
            model(input_ids=ids, attention_mask=mask).last_hidden_state.float().mean().backward()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / iters


main()
