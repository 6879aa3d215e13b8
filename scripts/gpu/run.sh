#!/usr/bin/env bash
# Runs on the lent GPU machine (device tool), from the repository root, with .gpu carried:
#   bash scripts/gpu/publish.sh            # here, first: .gpu/app
#   device run: bash scripts/gpu/run.sh [STEPS]   (default: build trainstep pipeline hf ours tests bench;
#               the open issues' comparisons alone: build trainstep pipeline)
# build: libclustertorch against the machine's PyTorch (CUDA) libtorch
# hf:    transformers on every parity fixture (fixtures with transformers' outputs → $OUT/hf_fixtures.tgz)
# ours:  transformers loads the checkpoints our CLI wrote (.gpu/ours, see scripts/gpu/make_ours.sh)
# tests: every test of Cluster.Torch.Tests and Cluster.Model.Tests, CUDA ones included, then the
#        parity tests again against transformers' own numbers
# trainstep: a roberta-base masked-LM training step (bf16 autocast, batch 32, 128 and 512 tokens), ours vs
#        RobertaForMaskedLM with the HF Trainer's optimizer: tokens/s and MFU (issue 14's GPU target); then a
#        fine-tuning step (sequence classification, 128 tokens) vs RobertaForSequenceClassification (issue 15's)
# pipeline: one serving replica (bf16, roberta-base config) under 1/8/64 closed-loop clients vs transformers'
#        text-classification pipeline on the same directory and glosses (issue 16's)
# bench: roberta-base forward and forward+backward, ours vs transformers (bf16, SDPA), batch 8
# bench32: the same at batch 32, where the GPU is busier and per-call overheads weigh less
set -uo pipefail
OUT=${OUT:-/tmp/out}
export TRANSFORMERS_VERBOSITY=error HF_HUB_DISABLE_PROGRESS_BARS=1 TQDM_DISABLE=1
mkdir -p "$OUT"
steps=${*:-build trainstep pipeline hf ours tests bench}
has() { [[ " $steps " == *" $1 "* ]]; }
log() { echo; echo "=== $* ==="; }

nvidia-smi -L
python3 -c 'import torch, transformers; print("torch", torch.__version__, "cuda", torch.version.cuda, "| transformers", transformers.__version__)'
TORCH_PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
TORCH_LIB=$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
SITE=$(python3 -c 'import torch, os; print(os.path.dirname(os.path.dirname(torch.__file__)))')
status=0

if has build; then
  log "build libclustertorch against $TORCH_PREFIX"
  export NCCL_INCLUDE_DIR=$(dirname "$(find "$SITE/nvidia" -name nccl.h 2>/dev/null | head -1)" 2>/dev/null)
  (cmake -S src/Torch/native -B /tmp/ctb -G Ninja -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" -DCMAKE_BUILD_TYPE=Release \
     && cmake --build /tmp/ctb -j16 -- -k 0) > "$OUT/build.log" 2>&1 || { status=1; echo "BUILD FAILED"; grep -E "error|Error" "$OUT/build.log" | head -40; }
  grep -E "warning: |WITH_|not found" "$OUT/build.log" | head -10
fi
export CLUSTER_TORCH_NATIVE=/tmp/ctb/libclustertorch.so
export LD_LIBRARY_PATH="$TORCH_LIB:${LD_LIBRARY_PATH:-}"

if has trainstep && [ -f "$CLUSTER_TORCH_NATIVE" ]; then
  # the dense bf16 peak of the card: H100 PCIe 756 TFLOP/s; H100 SXM and H200 989
  peak=989; nvidia-smi -L | grep -q "PCIe" && peak=756
  log "trainstep: roberta-base MLM training step, ours vs transformers (peak $peak TFLOP/s)"
  .gpu/app/Cluster.GpuCheck bench trainstep --device cuda --dtype bfloat16 --batch 32 --seqs 128,512 --iters 10 --repeats 3 \
    --peak-tflops $peak --python python3 --script-dir bench 2>&1 | tee "$OUT/trainstep.log" || status=1
  log "trainstep: roberta-base fine-tuning step (sequence classification, 128 tokens), ours vs the HF Trainer's"
  .gpu/app/Cluster.GpuCheck bench trainstep --task sequence-classification --device cuda --dtype bfloat16 --batch 32 --seqs 128 \
    --iters 10 --repeats 3 --peak-tflops $peak --python python3 --script-dir bench 2>&1 | tee "$OUT/trainstep_finetune.log" || status=1
fi

if has pipeline && [ -f "$CLUSTER_TORCH_NATIVE" ]; then
  log "pipeline: one serving replica vs transformers' pipeline"
  .gpu/app/Cluster.GpuCheck bench pipeline --device cuda --dtype bfloat16 --seconds 10 --concurrency 1,8,64 \
    --python python3 --script-dir bench 2>&1 | tee "$OUT/pipeline.log" || status=1
fi

if has hf; then
  log "transformers on the parity fixtures"
  rm -rf /tmp/hf_fixtures
  PYTHONUNBUFFERED=1 python3 tests/Cluster.Model.Tests/fixtures/check_with_transformers.py tests/Cluster.Model.Tests/fixtures \
    --write /tmp/hf_fixtures > "$OUT/hf_fixtures.log" 2>&1 || status=1
  tail -n 60 "$OUT/hf_fixtures.log"
  [ -d /tmp/hf_fixtures ] && tar -C /tmp/hf_fixtures -czf "$OUT/hf_fixtures.tgz" roberta roc_bert
fi

if has ours; then
  log "our checkpoints in transformers"
  python3 scripts/gpu/check_our_checkpoints.py .gpu/ours 2>&1 | grep -v Warning || status=1
fi

if has tests && [ -f "$CLUSTER_TORCH_NATIVE" ]; then
  log "tests (Cluster.GpuCheck)"
  .gpu/app/Cluster.GpuCheck > "$OUT/tests.log" 2>&1 || status=1
  sed -n '/^$/,$p' "$OUT/tests.log" | tail -n 30
  if [ -d /tmp/hf_fixtures ]; then
    log "parity tests against transformers' numbers"
    rm -rf .gpu/app/fixtures/roberta .gpu/app/fixtures/roc_bert && cp -r /tmp/hf_fixtures/roberta /tmp/hf_fixtures/roc_bert .gpu/app/fixtures/
    .gpu/app/Cluster.GpuCheck --filter Parity > "$OUT/tests_hf.log" 2>&1 || status=1
    grep -E "worst difference|FAILED|passed" "$OUT/tests_hf.log" | tail -n 20
  fi
fi

if has bench && [ -f "$CLUSTER_TORCH_NATIVE" ]; then
  log "bench: roberta-base, ours vs transformers"
  .gpu/app/Cluster.GpuCheck bench model --device cuda --dtype bfloat16 --python python3 --script-dir bench 2>&1 | tee "$OUT/bench.log" || status=1
fi
if has bench32 && [ -f "$CLUSTER_TORCH_NATIVE" ]; then
  log "bench: roberta-base, ours vs transformers, batch 32"
  .gpu/app/Cluster.GpuCheck bench model --device cuda --dtype bfloat16 --batch 32 --iters 10 --python python3 --script-dir bench 2>&1 | tee "$OUT/bench32.log" || status=1
fi
exit $status
