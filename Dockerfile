# Multi-stage build of the single `sluice` binary.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The portal bundle first: the binary embeds it (without npm, wasm-opt is skipped).
RUN scripts/build-portal.sh && cargo build --release --locked --bin sluice

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/sluice --create-home sluice
COPY --from=build /src/target/release/sluice /usr/local/bin/sluice
USER sluice
WORKDIR /var/lib/sluice
ENV SLUICE_LISTEN=0.0.0.0:8080 SLUICE_DATA_DIR=/var/lib/sluice
EXPOSE 8080
HEALTHCHECK CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"]
ENTRYPOINT ["/usr/local/bin/sluice"]
CMD ["serve"]
