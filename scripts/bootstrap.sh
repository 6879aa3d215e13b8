#!/usr/bin/env bash
# Installs what Cluster needs on a fresh Debian 12 machine (libtorch, OpenBLAS, Gloo, CMake, ICU) and
# builds the solution, native library included. Idempotent; says what it is doing, and nothing else on success.
#   scripts/bootstrap.sh [--bench] [--test]
#   (--bench adds python3-torch, the benchmarks' reference; --test adds PostgreSQL for the membership tests, GNU time for
#    peak-memory checks and Chromium for the dashboard's browser test)
set -euo pipefail
cd "$(dirname "$0")/.."

# libicu72: Unicode normalization for the tokenizers (Debian 12's ICU).
packages=(cmake g++ libtorch-dev libopenblas0-pthread libgloo-dev libicu72)
for arg in "$@"; do
  case "$arg" in
    --bench) packages+=(python3-torch) ;;
    --test) packages+=(postgresql time chromium) ;;
    *) echo "bootstrap: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo=sudo
  echo "bootstrap: installing ${missing[*]} (Debian packages)" >&2
  log=$(mktemp)
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "bootstrap: could not install ${missing[*]}" >&2
    exit 1
  fi
  rm -f "$log"
fi

if ! command -v dotnet >/dev/null; then
  echo "bootstrap: the .NET 10 SDK is required (no dotnet on PATH)" >&2
  exit 1
fi

echo "bootstrap: building the solution (dotnet build; the first build restores packages and compiles libclustertorch, a few minutes)" >&2
log=$(mktemp)
if ! dotnet build Cluster.sln -c Release -nologo -v quiet >"$log" 2>&1; then
  grep -E "error|Error" "$log" >&2 || cat "$log" >&2
  echo "bootstrap: build failed (full log: $log)" >&2
  exit 1
fi
rm -f "$log"
