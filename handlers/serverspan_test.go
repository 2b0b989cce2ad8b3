package handlers

import (
	"net/http"
	"slices"
	"testing"
)

// traceHeaders must find what net/http stored under canonical names, for every name the
// W3C propagators ask for, and for any other name too.
func TestTraceHeaders(t *testing.T) {
	h := http.Header{}
	h.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.Set("tracestate", "congo=t61rcWkgMzE")
	h.Add("baggage", "a=1")
	h.Add("baggage", "b=2")
	h.Set("x-other", "v")
	tests := []struct {
		key        string
		wantGet    string
		wantValues []string
	}{
		{key: "traceparent", wantGet: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", wantValues: []string{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
		{key: "tracestate", wantGet: "congo=t61rcWkgMzE", wantValues: []string{"congo=t61rcWkgMzE"}},
		{key: "baggage", wantGet: "a=1", wantValues: []string{"a=1", "b=2"}},
		{key: "x-other", wantGet: "v", wantValues: []string{"v"}},
		{key: "missing", wantGet: "", wantValues: nil},
	}
	carrier := traceHeaders(h)
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := carrier.Get(tt.key); got != tt.wantGet {
				t.Errorf("Get(%q) = %q; want %q", tt.key, got, tt.wantGet)
			}
			if got := carrier.Values(tt.key); !slices.Equal(got, tt.wantValues) {
				t.Errorf("Values(%q) = %q; want %q", tt.key, got, tt.wantValues)
			}
		})
	}
}

func BenchmarkTraceHeadersGet(b *testing.B) {
	h := http.Header{}
	h.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	carrier := traceHeaders(h)
	b.ReportAllocs()
	for b.Loop() {
		_ = carrier.Get("traceparent")
		_ = carrier.Values("baggage")
	}
}
