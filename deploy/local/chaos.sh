#!/usr/bin/env bash
# Under deploy/local/up.sh's cluster: starts a longer 2-worker pretraining job and serving load on a model with two
# replicas, kills (SIGKILL) a silo that holds one of the job's workers and one of the replicas, then shows that the job
# finishes from its checkpoint, that no request failed (the router retries once, on the other replica), and that
# `cluster status` lists the dead silo. Exits non-zero if any of that does not hold.
set -euo pipefail
cd "$(dirname "$0")/../.."
state=$(realpath -m "${CLUSTER_LOCAL_STATE:-artifacts/local}")
steps=${CLUSTER_CHAOS_STEPS:-120}
[[ -f $state/processes ]] || { echo "chaos: nothing is up in $state; run deploy/local/up.sh first" >&2; exit 1; }
mapfile -t connect < "$state/connect" # --cluster and, with TLS, the CLI's certificate (up.sh wrote them)
cluster=(dotnet src/Client/bin/Release/net10.0/cluster.dll)
say() { echo "chaos: $*"; }

# up.sh's own job holds two of the three devices until it ends.
if read -r _ first < <(grep '^pretrain ' "$state/processes"); then
  say "waiting for up.sh's job to finish ($state/logs/pretrain.log)"
  for _ in $(seq 1200); do kill -0 "$first" 2>/dev/null || break; sleep 0.5; done
fi

say "deploying $state/model as 'chaos' with 2 replicas"
"${cluster[@]}" serve "${connect[@]}" --model chaos="$state/model" --replicas 2 > "$state/logs/chaos-deploy.log"
cat "$state/logs/chaos-deploy.log"

say "a $steps-step pretraining job, checkpointing every 10 steps"
rm -rf "$state/chaos-job"
"${cluster[@]}" pretrain "${connect[@]}" --arch roberta --config "$state/config.json" --tokenizer "$state/tokenizer" \
  --corpus data/demo/wordnet-glosses.txt --workers 2 --batch-size 8 --max-length 64 --max-steps "$steps" \
  --checkpoint-every 10 --out "$state/chaos-job" > "$state/logs/chaos-job.log" 2>&1 &
job=$!
echo "chaos-job $job" >> "$state/processes"
for _ in $(seq 300); do grep -q 'checkpoint at step' "$state/logs/chaos-job.log" && break; kill -0 $job 2>/dev/null || break; sleep 0.5; done
grep -q 'checkpoint at step' "$state/logs/chaos-job.log" || { say "the job made no checkpoint:"; cat "$state/logs/chaos-job.log"; exit 1; }

# The victim: a silo whose device a worker holds and which hosts a replica; the load goes to another silo's HTTP port.
status=$("${cluster[@]}" status "${connect[@]}")
echo "$status"
hosts=$(sed -n 's/^ *replica chaos#[0-9]* on \([^ ]*\) .*/\1/p' "$state/logs/chaos-deploy.log")
victim=$(echo "$status" | awk '/held by/ { print $1 }' | grep -Fx -f <(echo "$hosts") | head -1 || true)
[[ -n $victim ]] || { say "no silo holds both a worker of the job and a replica"; exit 1; }
read -r _ victim_pid _ <<< "$(grep "^$victim " "$state/processes")"
entry=$(awk -v v="$victim" '$1 ~ /^silo-/ && $1 != v { print $5; exit }' "$state/processes")

say "serving load on http://127.0.0.1:$entry (requests to model 'chaos', one at a time)"
: > "$state/logs/chaos-load.log"
( while [[ ! -f $state/chaos-stop ]]; do
    if "${cluster[@]}" predict --url "http://127.0.0.1:$entry" --model chaos --task fill-mask "a large <mask> of water" >/dev/null 2>> "$state/logs/chaos-load.log"
    then echo ok >> "$state/logs/chaos-load.log"; else echo FAILED >> "$state/logs/chaos-load.log"; fi
  done ) &
load=$!
rm -f "$state/chaos-stop"
sleep 3

say "SIGKILL $victim (pid $victim_pid) at $(grep -o 'step [0-9]*/' "$state/logs/chaos-job.log" | tail -1)"
kill -KILL "$victim_pid"

say "waiting for the job to finish"
wait $job || true
touch "$state/chaos-stop"
wait $load || true
rm -f "$state/chaos-stop"
grep -E 'lost |re-forming|continuing at|completed' "$state/logs/chaos-job.log" | cut -c1-200

ok=$(grep -c '^ok$' "$state/logs/chaos-load.log" || true)
failed=$(grep -c '^FAILED$' "$state/logs/chaos-load.log" || true)
say "requests: $ok answered, $failed failed"
final=$("${cluster[@]}" status "${connect[@]}")
echo "$final"

verdict=0
grep -q "completed $steps steps" "$state/logs/chaos-job.log" || { say "FAIL: the job did not complete"; verdict=1; }
grep -q 'continuing at step [0-9]* from .*checkpoints' "$state/logs/chaos-job.log" || { say "FAIL: the job did not resume from a checkpoint"; verdict=1; }
[[ $failed -eq 0 && $ok -gt 0 ]] || { say "FAIL: $failed requests failed"; grep -v '^ok$' "$state/logs/chaos-load.log" | head -5; verdict=1; }
echo "$final" | grep -E "^$victim " | grep -q dead || { say "FAIL: cluster status does not show $victim as dead"; verdict=1; }
[[ $verdict -eq 0 ]] && say "the job finished from its checkpoint, no request failed, and $victim shows as dead"
exit $verdict
