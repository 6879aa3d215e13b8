#!/usr/bin/env bash
# The Kubernetes topology as processes on this machine: PostgreSQL on loopback, three Cluster.Silo processes on it,
# a 2-worker pretraining job submitted to them and a model deployed for serving. Everything it starts is recorded in
# $CLUSTER_LOCAL_STATE (default artifacts/local) for deploy/local/down.sh; logs are there too.
#   deploy/local/up.sh   (CLUSTER_LOCAL_STEPS: the job's steps, default 40; CLUSTER_LOCAL_BASE_PORT: ports from it, default
#                         21000; CLUSTER_LOCAL_STATE: where pids, logs and data go; CLUSTER_LOCAL_TLS=1: mutual TLS between
#                         the silos, and from the CLI to them, with certificates made in $CLUSTER_LOCAL_STATE/tls)
set -euo pipefail
cd "$(dirname "$0")/../.."
state=$(realpath -m "${CLUSTER_LOCAL_STATE:-artifacts/local}")
base=${CLUSTER_LOCAL_BASE_PORT:-21000}
steps=${CLUSTER_LOCAL_STEPS:-40}
if [[ -e $state/processes ]]; then echo "up: $state is already up; run deploy/local/down.sh first" >&2; exit 1; fi
# CLUSTER_LOCAL_SKIP_BUILD=1: the caller built it (the test suite, whose assemblies a rebuild would replace under it).
[[ ${CLUSTER_LOCAL_SKIP_BUILD:-} == 1 ]] || bash scripts/bootstrap.sh --test
rm -rf "$state"
mkdir -p "$state/logs"
chmod a+x "$state"   # PostgreSQL runs as its own user when we are root, and must reach its directory
: > "$state/processes"
cluster=(dotnet src/Client/bin/Release/net10.0/cluster.dll)

# With TLS every silo uses it: an Orleans silo speaks TLS on all its connections or on none, so one TLS silo among
# plain ones could join nobody. The CLI's arguments for reaching the cluster are kept for chaos.sh.
silo_tls=()
if [[ ${CLUSTER_LOCAL_TLS:-} == 1 ]]; then
  echo "up: certificates for mutual TLS in $state/tls"
  bash deploy/local/certificates.sh "$state/tls"
  silo_tls=(--tls-cert "$state/tls/silo.crt" --tls-key "$state/tls/silo.key" --tls-ca "$state/tls/ca.crt")
fi

echo "up: PostgreSQL on 127.0.0.1:$((base + 99))"
connection=$(CLUSTER_TEST_POSTGRES_PORT=$((base + 99)) bash scripts/test_postgres.sh start "$state/postgres")
echo "$connection" > "$state/connection"
target="postgres:$connection"
connect=(--cluster "$target")
[[ ${CLUSTER_LOCAL_TLS:-} == 1 ]] && connect+=(--tls-cert "$state/tls/client.crt" --tls-key "$state/tls/client.key" --tls-ca "$state/tls/ca.crt")
printf '%s\n' "${connect[@]}" > "$state/connect"

for i in 0 1 2; do
  port=$((base + 10 * i))
  dotnet src/Silo/bin/Release/net10.0/Cluster.Silo.dll --membership "$target" --name "silo-$i" --devices cpu \
    --port "$port" --gateway-port $((port + 1)) --http-port $((port + 2)) --bulk-port $((port + 3)) "${silo_tls[@]}" \
    > "$state/logs/silo-$i.log" 2>&1 &
  echo "silo-$i $! $port $((port + 1)) $((port + 2)) $((port + 3))" >> "$state/processes"
  echo "up: silo-$i (pid $!): silo port $port, gateway $((port + 1)), HTTP http://127.0.0.1:$((port + 2))"
done

echo "up: waiting for three active silos"
for _ in $(seq 240); do
  active=$("${cluster[@]}" status "${connect[@]}" --connect-timeout 5 2>/dev/null | sed -n '1s/.*, \([0-9]*\) active.*/\1/p' || true)
  [[ ${active:-0} -ge 3 ]] && break
  while read -r name pid _; do
    kill -0 "$pid" 2>/dev/null || { echo "up: $name exited:" >&2; tail -20 "$state/logs/$name.log" >&2; exit 1; }
  done < <(grep '^silo-' "$state/processes")
  sleep 1
done
[[ ${active:-0} -ge 3 ]] || { echo "up: the silos did not all become active in 4 minutes (logs: $state/logs)" >&2; exit 1; }
"${cluster[@]}" status "${connect[@]}"

echo "up: a tokenizer and a small RoBERTa for data/demo"
"${cluster[@]}" tokenizer train --kind bpe --corpus data/demo/wordnet-glosses.txt --vocab-size 2000 --out "$state/tokenizer" > "$state/logs/tokenizer.log"
echo '{"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128, "max_position_embeddings": 66}' > "$state/config.json"
"${cluster[@]}" model init --arch roberta --config "$state/config.json" --tokenizer "$state/tokenizer" --out "$state/model" > "$state/logs/model.log"

echo "up: deploying $state/model for serving as 'demo'"
"${cluster[@]}" serve "${connect[@]}" --model demo="$state/model" | tee "$state/logs/deploy.log"

echo "up: submitting a 2-worker pretraining job ($steps steps), followed in $state/logs/pretrain.log"
"${cluster[@]}" pretrain "${connect[@]}" --arch roberta --config "$state/config.json" --tokenizer "$state/tokenizer" \
  --corpus data/demo/wordnet-glosses.txt --workers 2 --batch-size 8 --max-length 64 --max-steps "$steps" \
  --checkpoint-every 10 --out "$state/pretrain" > "$state/logs/pretrain.log" 2>&1 &
echo "pretrain $!" >> "$state/processes"

http=$((base + 2))
cat <<INFO
up: running. Where to look:
  dashboard  http://127.0.0.1:$http/dashboard   (on every silo)
  API        curl -s http://127.0.0.1:$http/v1/models/demo/fill-mask -H 'Content-Type: application/json' -d '{"inputs": "a large <mask> of water"}'
  models     http://127.0.0.1:$http/v1/models   (every silo's HTTP port: $http, $((http + 10)), $((http + 20)))
  metrics    http://127.0.0.1:$http/metrics
  members    ${cluster[*]} status ${connect[*]}
  the job    ${cluster[*]} jobs list ${connect[*]}   (its log: $state/logs/pretrain.log)
  logs       $state/logs/
  stop       deploy/local/down.sh
INFO
