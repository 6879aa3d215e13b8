"""The reference side of `Cluster.Bench trainstep`: one training step of roberta-base (random weights) as the
Hugging Face Trainer takes it, timed on batches of the shape our side gets.

    python3 train_step_reference.py TASK BATCH DEVICE DTYPE ITERS THREADS

TASK is mlm (masked LM, 15% of positions labelled; run_mlm's settings: lr 1e-4, β2 0.98, ε 1e-6, weight decay 0.01)
or sequence-classification (two classes, a random label per row; the Trainer's defaults: lr 5e-5, β2 0.999, ε 1e-8,
no weight decay). With transformers installed (the GPU machine): RobertaForMaskedLM or RobertaForSequenceClassification
(SDPA attention on CUDA), the optimizer the Trainer builds for TrainingArguments(bf16=...) with its weight-decay
groups, torch.autocast in DTYPE when it is bfloat16 (weights, gradients and optimizer state float32, as --bf16), the
loss the model computes from labels, gradient clipping at 1.0, the step, zero_grad. Without it (this CPU machine's
Debian python3-torch): the same step on roberta_reference.py's plain-PyTorch RoBERTa under the task's head (the LM
head with its decoder tied to the word embeddings; the classification head on <s>) with torch.optim.AdamW. Requests
on stdin: "train T" runs ITERS steps on a (BATCH, T) batch and prints the mean seconds per step, from a device
synchronize to a device synchronize.
"""
import contextlib
import json
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roberta_reference as plain  # noqa: E402


SETTINGS = {"mlm": dict(lr=1e-4, beta2=0.98, eps=1e-6, weight_decay=0.01),
            "sequence-classification": dict(lr=5e-5, beta2=0.999, eps=1e-8, weight_decay=0.0)}


class PlainClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.roberta = plain.Roberta()
        self.dense, self.out_proj, self.dropout = nn.Linear(plain.H, plain.H), nn.Linear(plain.H, 2), nn.Dropout(0.1)

    def forward(self, input_ids, attention_mask, labels):
        x = self.dropout(self.roberta(input_ids, attention_mask)[:, 0])
        logits = self.out_proj(self.dropout(torch.tanh(self.dense(x))))
        return F.cross_entropy(logits.float(), labels)


class PlainMaskedLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.roberta = plain.Roberta()
        self.dense, self.norm = nn.Linear(plain.H, plain.H), nn.LayerNorm(plain.H, eps=1e-5)
        self.bias = nn.Parameter(torch.zeros(plain.VOCAB))

    def forward(self, input_ids, attention_mask, labels):
        x = self.norm(F.gelu(self.dense(self.roberta(input_ids, attention_mask))))
        logits = F.linear(x, self.roberta.word.weight, self.bias)
        return F.cross_entropy(logits.view(-1, logits.size(-1)).float(), labels.view(-1), ignore_index=-100)


def build(task, device, dtype):
    hp = SETTINGS[task]
    try:
        import transformers
    except ImportError:
        model = (PlainMaskedLM() if task == "mlm" else PlainClassifier()).to(device)
        groups = [{"params": [p for n, p in model.named_parameters() if p.dim() > 1], "weight_decay": hp["weight_decay"]},
                  {"params": [p for n, p in model.named_parameters() if p.dim() <= 1], "weight_decay": 0.0}]
        optimizer = torch.optim.AdamW(groups, lr=hp["lr"], betas=(0.9, hp["beta2"]), eps=hp["eps"])
        return model, optimizer, f"plain PyTorch {torch.__version__} (no transformers here), torch.optim.AdamW", plain.VOCAB, \
            lambda m, ids, mask, labels: m(ids, mask, labels)
    config = transformers.RobertaConfig(max_position_embeddings=514, type_vocab_size=1, num_labels=2,
                                        attn_implementation="sdpa" if device.startswith("cuda") else "eager")
    model = (transformers.RobertaForMaskedLM(config) if task == "mlm" else transformers.RobertaForSequenceClassification(config)).to(device)
    args = transformers.TrainingArguments(output_dir="/tmp/train-step-reference", bf16=dtype == torch.bfloat16, learning_rate=hp["lr"],
                                          adam_beta2=hp["beta2"], adam_epsilon=hp["eps"], weight_decay=hp["weight_decay"], report_to=[])
    try:
        optimizer = transformers.Trainer(model=model, args=args).create_optimizer()
        chosen = f"the Trainer's {args.optim} ({type(optimizer).__name__})"
    except Exception as e:  # a transformers whose Trainer wants more than this: the optimizer its default names
        optimizer = torch.optim.AdamW(model.parameters(), lr=hp["lr"], betas=(0.9, hp["beta2"]), eps=hp["eps"],
                                      weight_decay=hp["weight_decay"], fused=device.startswith("cuda"))
        chosen = f"torch.optim.AdamW (the Trainer failed: {type(e).__name__}: {e})"
    name = f"transformers {transformers.__version__}, PyTorch {torch.__version__}, attention {model.config._attn_implementation}, {chosen}"
    return model, optimizer, name, config.vocab_size, \
        lambda m, ids, mask, labels: m(input_ids=ids, attention_mask=mask, labels=labels).loss


def main():
    task, batch, device, dtype, iters, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], getattr(torch, sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model, optimizer, name, vocab, loss_of = build(task, device, dtype)
    model.train()
    autocast = (lambda: torch.autocast(device_type=device.split(":")[0], dtype=dtype)) if dtype != torch.float32 else contextlib.nullcontext
    print(json.dumps({"version": name}), flush=True)
    for line in sys.stdin:
        kind, T = line.split()
        ids = torch.randint(3, vocab, (batch, int(T)), device=device)
        mask = torch.ones_like(ids)
        labels = torch.where(torch.rand(ids.shape, device=device) < 0.15, ids, torch.full_like(ids, -100)) if task == "mlm" \
            else torch.randint(0, 2, (batch,), device=device)
        sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
        sync()
        start = time.perf_counter()
        for _ in range(iters):
            with autocast():
                loss = loss_of(model, ids, mask, labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        sync()
        print((time.perf_counter() - start) / iters, flush=True)


if __name__ == "__main__":
    main()
