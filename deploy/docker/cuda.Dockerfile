# The CUDA image: NVIDIA's PyTorch container supplies CUDA, cuDNN, NCCL and a CUDA libtorch (the one in its torch
# wheel); libclustertorch is built against it, as scripts/gpu/run.sh does on the lent GPU machines.
#   docker build -f deploy/docker/cuda.Dockerfile -t registry.example.com/cluster-cuda:0.1.0 .
# Not built here: NVIDIA's container registry is not reachable (see README, Kubernetes).

ARG PYTORCH_IMAGE=nvcr.io/nvidia/pytorch:25.01-py3

FROM ${PYTORCH_IMAGE} AS native
RUN apt-get update && apt-get install -y --no-install-recommends cmake ninja-build && rm -rf /var/lib/apt/lists/*
COPY src/Torch/native /src/native
RUN TORCH_PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)') \
 && cmake -S /src/native -B /build -G Ninja -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /build

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS managed
WORKDIR /src
COPY . .
# The native library comes from the stage above; SkipNativeBuild keeps the SDK image free of libtorch.
RUN dotnet publish src/Silo -c Release -p:SkipNativeBuild=true -o /opt/cluster/silo \
 && dotnet publish src/Client -c Release -p:SkipNativeBuild=true -o /opt/cluster/cli

FROM ${PYTORCH_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends wget \
 && wget -q https://dot.net/v1/dotnet-install.sh -O /tmp/dotnet-install.sh \
 && bash /tmp/dotnet-install.sh --channel 10.0 --runtime aspnetcore --install-dir /usr/share/dotnet \
 && ln -s /usr/share/dotnet/dotnet /usr/local/bin/dotnet \
 && rm /tmp/dotnet-install.sh && apt-get purge -y wget && rm -rf /var/lib/apt/lists/*
COPY --from=managed /opt/cluster /opt/cluster
COPY --from=native /build/libclustertorch.so /opt/cluster/native/libclustertorch.so
# CLUSTER_TORCH_NATIVE points Cluster.Torch at the CUDA build; the torch wheel's lib directory holds libtorch itself.
ENV CLUSTER_TORCH_NATIVE=/opt/cluster/native/libclustertorch.so
RUN TORCH_LIB=$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))') \
 && echo "$TORCH_LIB" > /etc/ld.so.conf.d/torch.conf && ldconfig \
 && printf '#!/bin/sh\nexec dotnet /opt/cluster/silo/Cluster.Silo.dll "$@"\n' > /usr/local/bin/cluster-silo \
 && printf '#!/bin/sh\nexec dotnet /opt/cluster/cli/cluster.dll "$@"\n' > /usr/local/bin/cluster \
 && chmod +x /usr/local/bin/cluster-silo /usr/local/bin/cluster \
 && useradd --system --uid 10001 --home-dir /data cluster
USER 10001
EXPOSE 11111 30000 8080 11112
ENTRYPOINT ["cluster-silo"]
