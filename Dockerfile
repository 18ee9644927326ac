# The MCU as a container image (docs/SHIPPING.md). Build where an engine exists:
#   docker build -t conference-mcu .
#   docker run -p 6870:6870 -v $PWD/config/mcu.example.toml:/etc/conference-mcu/mcu.toml:ro \
#       conference-mcu
# Not built in CI (no container engine on the CI machine).

FROM rust:1-bookworm AS build
# libopus is built by the opus crate's cmake build: provide cmake (tools/cmake would fetch it).
RUN apt-get update && apt-get install -y --no-install-recommends cmake && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ENV CMAKE=cmake
RUN cargo build --release -p conference-mcu \
    && strip target/release/conference-mcu

FROM debian:bookworm-slim
RUN useradd --system --no-create-home --shell /usr/sbin/nologin conference-mcu
COPY --from=build /src/target/release/conference-mcu /usr/bin/conference-mcu
COPY config/mcu.example.toml /etc/conference-mcu/mcu.toml
USER conference-mcu
EXPOSE 6870
# The admin listener, if [admin] listen = "0.0.0.0:9090" is configured.
EXPOSE 9090
STOPSIGNAL SIGTERM
# Health: with the admin listener configured, probe http://<container>:9090/healthz (and
# /readyz) from the orchestrator; the image has no HTTP client of its own.
ENTRYPOINT ["/usr/bin/conference-mcu", "--config", "/etc/conference-mcu/mcu.toml", "--listen", "0.0.0.0:6870"]
