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

	"github.com/tokengate/tokengate/internal/otlpbody"
)

// maxExportBytes bounds one export body after decompression. The batch span processor
// sends at most 512 spans per export by default, far below this.
const maxExportBytes = 64 << 20

// otlpSink is a local OTLP/HTTP trace receiver: tokengate+tracing exports every span of the
// run to it, so --tracing measures the real export path without a collector. It counts the
// spans it receives, which proves they were exported and how many.
type otlpSink struct {
	server      *http.Server
	exports     atomic.Int64
	bytes       atomic.Int64 // of protobuf, after decompression
	spans       atomic.Int64
	serverSpans atomic.Int64
	unreadable  atomic.Int64 // exports answered 400
}

var _ http.Handler = (*otlpSink)(nil)

// startOTLPSink starts the sink and returns the environment that points tokengate's
// exporter at it, sampling every request.
func (s *stack) startOTLPSink() ([]string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("otlp sink: listen: %w", err)
	}
	sink := &otlpSink{}
	sink.server = &http.Server{
		Handler:           sink,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
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

// ServeHTTP receives one export (OTLP/HTTP, POST /v1/traces) and counts its spans.
func (o *otlpSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		http.NotFound(w, r)
		return
	}
	o.exports.Add(1)
	body, err := otlpbody.Read(r, maxExportBytes)
	o.bytes.Add(int64(len(body)))
	var c spanCount
	if err == nil {
		c, err = countSpans(body)
	}
	if err != nil {
		// A 400 is not retried by the exporter (OTLP/HTTP, "Failures"), so the count stays exact.
		o.unreadable.Add(1)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.spans.Add(int64(c.spans))
	o.serverSpans.Add(int64(c.server))
	// An empty ExportTraceServiceResponse: full success.
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

func (o *otlpSink) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = o.server.Shutdown(ctx) // the run is over
}

// counts is every span received so far.
func (o *otlpSink) counts() spanCount {
	return spanCount{spans: int(o.spans.Load()), server: int(o.serverSpans.Load())}
}

// summary says how much the sink received.
func (o *otlpSink) summary() string {
	return fmt.Sprintf("OTLP sink received %d exports, %.1f MiB of protobuf, %d unreadable",
		o.exports.Load(), float64(o.bytes.Load())/(1<<20), o.unreadable.Load())
}
