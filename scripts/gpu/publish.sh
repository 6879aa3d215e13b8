#!/usr/bin/env bash
# Publishes tests/Cluster.GpuCheck (the test runner, with the model benchmark compiled in) as one self-contained
# file in .gpu/app, for the lent GPU machine, which has no .NET. The device tool carries .gpu
# (listed in .git/info/exclude); scripts/gpu/run.sh runs it there.
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
rm -rf .gpu/app
# GpuPublish: self-contained single file for linux-x64 (set in the project, see there)
dotnet publish tests/Cluster.GpuCheck -c Release -p:GpuPublish=true -p:SkipNativeBuild=true -o .gpu/app
rm -f .gpu/app/*.pdb .gpu/app/libclustertorch.so
du -sh .gpu/app
