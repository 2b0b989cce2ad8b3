package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// otlpSink is a local OTLP/HTTP trace receiver: tokengate exports every span of the run to
// it, so --tracing measures the real export path without a collector.
type otlpSink struct {
	server  *http.Server
	exports atomic.Int64
	bytes   atomic.Int64
}

// startOTLPSink starts the sink and returns the environment that points tokengate's
// exporter at it, sampling every request.
func (s *stack) startOTLPSink() ([]string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("otlp sink: listen: %w", err)
	}
	sink := &otlpSink{}
	sink.server = &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
				http.NotFound(w, r)
				return
			}
			n, _ := io.Copy(io.Discard, r.Body) // a short body only undercounts bytes
			sink.exports.Add(1)
			sink.bytes.Add(n)
			// An empty ExportTraceServiceResponse: full success.
			w.Header().Set("Content-Type", "application/x-protobuf")
			w.WriteHeader(http.StatusOK)
		}),
	}
	go sink.server.Serve(ln) // ends when stop closes the server
	s.otlp = sink
	return []string{
		"OTEL_TRACES_EXPORTER=otlp",
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + ln.Addr().String(),
		"OTEL_TRACES_SAMPLER=always_on",
	}, nil
}

func (o *otlpSink) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = o.server.Shutdown(ctx) // the run is over
}

// summary says how much the sink received, proving spans were really exported.
func (o *otlpSink) summary() string {
	return fmt.Sprintf("OTLP sink received %d exports, %.1f MiB", o.exports.Load(), float64(o.bytes.Load())/(1<<20))
}
