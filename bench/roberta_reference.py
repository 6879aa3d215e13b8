"""The reference side of `Cluster.Bench model`: RoBERTa (the roberta-base config, random weights)
written as plain torch.nn modules with the structure of Hugging Face's eager implementation, on
Debian's python3-torch (the libtorch the binding uses).

    /usr/bin/python3 roberta_reference.py BATCH THREADS

It then serves timing requests, one per line on stdin, so that the benchmark can interleave its
own passes with the reference's on a machine whose speed drifts: "forward T" or
"forward_backward T" runs that pass once on a (BATCH, T) input and prints its seconds;
"trace PASS T PATH" runs it under torch.autograd.profiler and writes a Chrome trace to PATH.
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

H, LAYERS, HEADS, FFN, VOCAB, POSITIONS, PAD = 768, 12, 12, 3072, 50265, 514, 1


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.query, self.key, self.value = nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H)
        self.attention_out, self.attention_norm = nn.Linear(H, H), nn.LayerNorm(H, eps=1e-12)
        self.intermediate, self.output, self.output_norm = nn.Linear(H, FFN), nn.Linear(FFN, H), nn.LayerNorm(H, eps=1e-12)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x, mask):
        B, T, _ = x.shape
        split = lambda t: t.view(B, T, HEADS, H // HEADS).permute(0, 2, 1, 3)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(H // HEADS) + mask
        probs = self.dropout(scores.softmax(-1))
        context = (probs @ v).permute(0, 2, 1, 3).reshape(B, T, H)
        x = self.attention_norm(self.dropout(self.attention_out(context)) + x)
        return self.output_norm(self.dropout(self.output(F.gelu(self.intermediate(x)))) + x)


class Roberta(nn.Module):
    def __init__(self):
        super().__init__()
        self.word = nn.Embedding(VOCAB, H, padding_idx=PAD)
        self.position = nn.Embedding(POSITIONS, H, padding_idx=PAD)
        self.token_type = nn.Embedding(1, H)
        self.norm, self.dropout = nn.LayerNorm(H, eps=1e-12), nn.Dropout(0.1)
        self.layers = nn.ModuleList(Layer() for _ in range(LAYERS))

    def forward(self, ids, mask):
        real = (ids != PAD).int()
        positions = (torch.cumsum(real, 1).type_as(real) * real).long() + PAD
        x = self.dropout(self.norm(self.word(ids) + self.token_type(torch.zeros_like(ids)) + self.position(positions)))
        additive = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, additive)
        return x


def main():
    batch, threads = int(sys.argv[1]), int(sys.argv[2])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Roberta()
    print(json.dumps({"version": torch.__version__}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[0] == "trace":
            kind, T, path = words[1:]
            with torch.autograd.profiler.profile() as profile:
                seconds = run(model, batch, kind, int(T))
            profile.export_chrome_trace(path)
        else:
            kind, T = words
            seconds = run(model, batch, kind, int(T))
        print(seconds, flush=True)


def run(model, batch, kind, T):
    ids = torch.randint(3, VOCAB, (batch, T))
    mask = torch.ones(batch, T, dtype=torch.long)
    start = time.perf_counter()
    if kind == "forward":
        model.eval()
        with torch.inference_mode():
            model(ids, mask)
    else:
        model.train()
        model.zero_grad(set_to_none=True)
        model(ids, mask).mean().backward()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
