package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestNewLogger(t *testing.T) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9, 1}, SpanID: trace.SpanID{0xf0, 2}, TraceFlags: trace.FlagsSampled,
	})
	withSpan := trace.ContextWithSpanContext(context.Background(), sc)
	tests := []struct {
		name      string
		level     string
		format    string
		ctx       context.Context
		logDebug  bool
		want      []string
		wantNot   []string
		wantError string
	}{
		{name: "json with trace", level: "info", format: "json", ctx: withSpan,
			want: []string{`"msg":"signed in"`, `"trace_id":"` + sc.TraceID().String() + `"`, `"span_id":"` + sc.SpanID().String() + `"`}},
		{name: "json without span", level: "info", format: "json", ctx: context.Background(),
			want: []string{`"msg":"signed in"`}, wantNot: []string{"trace_id", "span_id"}},
		{name: "text for the demo", level: "info", format: "text", ctx: withSpan,
			want: []string{`msg="signed in"`, "trace_id=" + sc.TraceID().String()}},
		{name: "debug hidden at info", level: "info", format: "json", ctx: withSpan, logDebug: true,
			wantNot: []string{"debug line"}},
		{name: "debug shown at debug", level: "debug", format: "json", ctx: withSpan, logDebug: true,
			want: []string{"debug line", "trace_id"}},
		{name: "bad level", level: "verbose", format: "json", wantError: "log.level"},
		{name: "bad format", level: "info", format: "xml", wantError: "log.format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			logger, err := NewLogger(tt.level, tt.format, &out)
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("NewLogger = %v; want an error naming %s", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.logDebug {
				logger.DebugContext(tt.ctx, "debug line")
			} else {
				logger.With("user", "alice").InfoContext(tt.ctx, "signed in", "groups", 2)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("log %q lacks %s", out.String(), w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(out.String(), w) {
					t.Errorf("log %q contains %s", out.String(), w)
				}
			}
			if tt.format == "json" && out.Len() > 0 && !json.Valid(bytes.TrimSpace(out.Bytes())) {
				t.Errorf("log line is not JSON: %q", out.String())
			}
		})
	}
}
