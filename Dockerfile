# certfleet in a container: built with the README's install command, run as
# an unprivileged user.
#   docker build -t certfleet:0.1.0 .
#   docker run --rm -v "$PWD:/work" --user "$(id -u):$(id -g)" certfleet:0.1.0 \
#     certfleet run scenarios/intune-mdm-office.toml

# Build stage: the toolchain and sources never reach the final image.
FROM rust:1.95-slim-trixie AS build
WORKDIR /src
COPY . .
RUN cargo install --path . --locked --root /usr/local

# Run stage: the binary, the shipped scenarios, a shell (Kubernetes Jobs and
# Slurm scripts call certfleet through sh -c), no compiler.
FROM debian:trixie-slim
COPY --from=build /usr/local/bin/certfleet /usr/local/bin/certfleet
COPY scenarios /usr/local/share/certfleet/scenarios
RUN groupadd --system --gid 10001 certfleet \
 && useradd --system --uid 10001 --gid 10001 --home-dir /work --create-home certfleet
USER 10001:10001
WORKDIR /work
CMD ["certfleet", "--help"]
