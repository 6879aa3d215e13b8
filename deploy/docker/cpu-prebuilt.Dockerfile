# The CPU image from binaries published on the build machine (deploy/docker/build-cpu.sh): Debian 12's runtime
# libraries for libtorch 1.13 and self-contained .NET publishes of the silo and the CLI, so building it needs only
# Debian's archive, not a .NET image or packages.microsoft.com. cpu.Dockerfile builds the same from source instead.
#   deploy/docker/build-cpu.sh            (publishes into deploy/docker/.publish, then builds this)
FROM debian:12
RUN apt-get update \
 && apt-get install -y --no-install-recommends libtorch1.13 libopenblas0-pthread libgloo0 libicu72 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data cluster
COPY deploy/docker/.publish/silo /opt/cluster/silo
COPY deploy/docker/.publish/cli /opt/cluster/cli
RUN ln -s /opt/cluster/silo/Cluster.Silo /usr/local/bin/cluster-silo \
 && ln -s /opt/cluster/cli/cluster /usr/local/bin/cluster
USER 10001
# silo, gateway, HTTP (API, /health, /ready, /metrics, /dashboard), bulk channel: SiloSettings' defaults.
EXPOSE 11111 30000 8080 11112
ENTRYPOINT ["cluster-silo"]
