# Latch in a container: the static binary (CGO_ENABLED=0, the same build as
# scripts/release) on distroless/static, running as an unprivileged user,
# with no shell. Build and run:
#
#   docker build -t latch --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse HEAD) --build-arg DATE=$(git log -1 --format=%cI) .
#   docker run -p 8080:8080 -e LATCH_ISSUER=https://login.example.com \
#     -e LATCH_KEY_ENCRYPTION_SECRET=... -e LATCH_DB=postgres://... latch
#
# compose.yaml runs it with PostgreSQL.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/latch ./cmd/latch \
 && mkdir -p /out/data

# distroless/static: CA certificates (for sslmode=verify-full), tzdata and
# /etc/passwd with the nonroot user (65532); no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/latch /usr/local/bin/latch
# The SQLite default's directory, owned by the unprivileged user; mount a
# volume here (or use PostgreSQL with LATCH_DB).
COPY --from=build --chown=65532:65532 /out/data /var/lib/latch
USER 65532:65532
ENV LATCH_ADDR=:8080 \
    LATCH_DB=sqlite:/var/lib/latch/latch.db
# The admin listener (health, readiness, metrics, admin API) stays on the
# container's loopback interface by default (127.0.0.1:9090), where the
# health check below reaches it. To scrape metrics from outside, set
# LATCH_ADMIN_ADDR=:9090 and LATCH_ADMIN_TOKEN (required off loopback).
EXPOSE 8080
VOLUME /var/lib/latch
# Probes the admin listener's /readyz (see `latch healthcheck -h`); exit 0
# when the store answers and a signing key is loaded.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/latch", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/latch"]
CMD ["serve"]
