#!/usr/bin/env bash
# Builds the CPU image (cpu-prebuilt.Dockerfile) with the local Docker daemon and checks it: a silo started in a
# container (on the host's network: without TLS a silo listens on loopback only) answers /health, /ready, /dashboard.
#   deploy/docker/build-cpu.sh [TAG]          (default cluster-cpu:dev)
# The image starts FROM debian:12. Where nothing can be pulled, CLUSTER_DOCKER_BOOTSTRAP=1 makes that image from
# Debian's archive instead (debootstrap --variant=minbase bookworm, then docker import; a few minutes).
set -euo pipefail
cd "$(dirname "$0")/../.."
tag=${1:-cluster-cpu:dev}
say() { echo "build-cpu: $*"; }
docker info >/dev/null 2>&1 || { say "no Docker daemon answers (docker info)" >&2; exit 1; }

if ! docker image inspect debian:12 >/dev/null 2>&1; then
  if [[ ${CLUSTER_DOCKER_BOOTSTRAP:-} == 1 ]]; then
    say "making debian:12 from Debian's archive (debootstrap, a few minutes)"
    root=$(mktemp -d)
    debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian > "$root.log" 2>&1 \
      || { tail -20 "$root.log" >&2; exit 1; }
    tar -C "$root" -c . | docker import - debian:12 >/dev/null
    rm -rf "$root" "$root.log"
  else
    say "pulling debian:12"
    docker pull debian:12
  fi
fi

say "publishing the silo and the CLI (self-contained, linux-x64)"
rm -rf deploy/docker/.publish
for project in Silo Client; do
  out=deploy/docker/.publish/$([[ $project == Silo ]] && echo silo || echo cli)
  dotnet publish "src/$project" -c Release -r linux-x64 --self-contained -o "$out" -nologo -v q
  rm -f "$out"/*.pdb
  [[ -f $out/libclustertorch.so ]] || { say "$out has no libclustertorch.so" >&2; exit 1; }
done

say "docker build -t $tag"
docker build -q -f deploy/docker/cpu-prebuilt.Dockerfile -t "$tag" . >/dev/null
docker image ls "$tag"

port=${CLUSTER_DOCKER_SMOKE_PORT:-18080}
name=cluster-smoke-$$
say "smoke test: a silo in a container, HTTP on 127.0.0.1:$port (silo, gateway and bulk ports: the next three)"
docker run -d --name "$name" --network host "$tag" --name smoke --devices cpu \
  --http-port "$port" --port $((port + 1)) --gateway-port $((port + 2)) --bulk-port $((port + 3)) >/dev/null
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT
for _ in $(seq 120); do
  curl -fsS "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break
  [[ $(docker inspect -f '{{.State.Running}}' "$name") == true ]] || { docker logs "$name" >&2; say "the silo exited" >&2; exit 1; }
  sleep 1
done
for path in /health /ready; do echo "  GET $path: $(curl -fsS "http://127.0.0.1:$port$path")"; done
curl -fsS "http://127.0.0.1:$port/dashboard" | grep -q "<title>Cluster dashboard</title>" && echo "  GET /dashboard: the page"
# libtorch itself, in the image: the CLI initialises a small model (its weights made by libclustertorch).
docker run --rm --entrypoint sh "$tag" -c '
  cd /tmp && echo "{\"vocab_size\": 100, \"hidden_size\": 32, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"intermediate_size\": 64}" > c.json \
  && cluster model init --arch roberta --config c.json --out m && ls -l m/model.safetensors' | sed 's/^/  /'
say "ok: $tag"
