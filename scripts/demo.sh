#!/usr/bin/env bash
# The main job on one machine: install and build if needed, then run `cluster demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec dotnet run -c Release --no-build --project src/Client -- demo "$@"
