package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// NewLogger is tokengate's logger: JSON lines (format "json") or logfmt-like text ("text",
// for the demo) at level ("debug", "info", "warn", "error"), each line of a request carrying
// the trace_id and span_id of its span.
func NewLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	var h slog.Handler
	switch strings.ToLower(format) {
	case "json", "":
		h = slog.NewJSONHandler(w, opts)
	case "text":
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("log.format: %q is not one of json, text", format)
	}
	return slog.New(NewTraceHandler(h)), nil
}

// TraceHandler adds trace_id and span_id to every record logged with a context that holds a
// valid span context, so a log line leads to its trace and back. A span that is not sampled
// still has the ingress's trace id, which is what the ingress's own access log shows.
type TraceHandler struct {
	next slog.Handler
}

var _ slog.Handler = TraceHandler{}

// NewTraceHandler wraps next.
func NewTraceHandler(next slog.Handler) TraceHandler { return TraceHandler{next: next} }

// Enabled implements slog.Handler.
func (h TraceHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler. It looks up the span only for records that are written.
func (h TraceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h TraceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return TraceHandler{next: h.next.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h TraceHandler) WithGroup(name string) slog.Handler {
	return TraceHandler{next: h.next.WithGroup(name)}
}
