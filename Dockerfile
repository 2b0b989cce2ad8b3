# syntax=docker/dockerfile:1
# Build a static binary, then ship it alone on a distroless, non-root base.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/tokengate ./cmd/tokengate

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tokengate /tokengate
USER 65532:65532
EXPOSE 4180
ENTRYPOINT ["/tokengate"]
CMD ["serve", "--config", "/etc/tokengate/config.yaml"]
