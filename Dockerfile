# The Kiln backend image: `kiln server` and the CLI, static, running as non-root.
#   docker build -t ghcr.io/kilnml/kiln:dev .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/kilnml/kiln/internal/cli.Version=${VERSION}" -o /out/kiln ./cmd/kiln

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/kiln /usr/local/bin/kiln
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/kiln"]
CMD ["server", "--addr=0.0.0.0:8080"]
