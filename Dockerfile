# syntax=docker/dockerfile:1
# Build: templ's generated files are committed, so only Go is needed.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
# fpdf with the patches in third_party/fpdf/SIGNOFF.md (a replace in go.mod)
COPY third_party ./third_party
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/signoff ./cmd/signoff && mkdir -p /out/data

# Run: a static binary on a minimal, non-root image.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/signoff /signoff
# DATA_DIR, owned by nonroot, so a volume mounted there can hold the signing key.
COPY --from=build --chown=65532:65532 /out/data /data
ENV ADDR=:8080 LOG_FORMAT=json DATA_DIR=/data
EXPOSE 8080
USER nonroot:nonroot
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["/signoff", "healthcheck"]
ENTRYPOINT ["/signoff"]
CMD ["serve"]
