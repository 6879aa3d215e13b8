# The CPU image: Debian 12 with Debian's libtorch (1.13, the one scripts/bootstrap.sh installs), the silo and the CLI.
#   docker build -f deploy/docker/cpu.Dockerfile -t registry.example.com/cluster-cpu:0.1.0 .
# Not built here: it needs packages.microsoft.com for the .NET SDK; deploy/docker/build-cpu.sh builds cpu-prebuilt.Dockerfile.

FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && curl -fsSL https://packages.microsoft.com/config/debian/12/packages-microsoft-prod.deb -o /tmp/microsoft.deb \
 && dpkg -i /tmp/microsoft.deb \
 && apt-get update \
 && apt-get install -y --no-install-recommends dotnet-sdk-10.0 cmake g++ libtorch-dev libopenblas0-pthread libgloo-dev libicu72 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Framework-dependent: the runtime image carries ASP.NET Core 10 (the silo serves HTTP; the CLI embeds silos).
RUN dotnet publish src/Silo -c Release -o /opt/cluster/silo \
 && dotnet publish src/Client -c Release -o /opt/cluster/cli

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && curl -fsSL https://packages.microsoft.com/config/debian/12/packages-microsoft-prod.deb -o /tmp/microsoft.deb \
 && dpkg -i /tmp/microsoft.deb && rm /tmp/microsoft.deb \
 && apt-get update \
 && apt-get install -y --no-install-recommends aspnetcore-runtime-10.0 libtorch1.13 libopenblas0-pthread libgloo0 libicu72 \
 && apt-get purge -y curl && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/cluster /opt/cluster
RUN printf '#!/bin/sh\nexec dotnet /opt/cluster/silo/Cluster.Silo.dll "$@"\n' > /usr/local/bin/cluster-silo \
 && printf '#!/bin/sh\nexec dotnet /opt/cluster/cli/cluster.dll "$@"\n' > /usr/local/bin/cluster \
 && chmod +x /usr/local/bin/cluster-silo /usr/local/bin/cluster \
 && useradd --system --uid 10001 --home-dir /data cluster
USER 10001
# silo, gateway, HTTP (API, /health, /ready, /metrics), bulk channel: SiloSettings' defaults.
EXPOSE 11111 30000 8080 11112
ENTRYPOINT ["cluster-silo"]
