package main

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
	resourcev1 "go.opentelemetry.io/proto/otlp/resource/v1"
	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// testSpan is a span as tokengate exports one: ids, name, kind, times, attributes and an
// event, so the counter must skip nested messages that are not spans.
func testSpan(kind tracev1.Span_SpanKind) *tracev1.Span {
	return &tracev1.Span{
		TraceId:           bytes.Repeat([]byte{1}, 16),
		SpanId:            bytes.Repeat([]byte{2}, 8),
		ParentSpanId:      bytes.Repeat([]byte{3}, 8),
		Name:              "GET /auth",
		Kind:              kind,
		StartTimeUnixNano: 1,
		EndTimeUnixNano:   2,
		Attributes: []*commonv1.KeyValue{{
			Key:   "http.route",
			Value: &commonv1.AnyValue{Value: &commonv1.AnyValue_StringValue{StringValue: "/auth"}},
		}},
		Events: []*tracev1.Span_Event{{Name: "cache hit", TimeUnixNano: 1}},
	}
}

func scopeSpans(kinds ...tracev1.Span_SpanKind) *tracev1.ScopeSpans {
	ss := &tracev1.ScopeSpans{
		Scope:     &commonv1.InstrumentationScope{Name: "github.com/tokengate/tokengate/handlers"},
		SchemaUrl: "https://opentelemetry.io/schemas/1.43.0",
	}
	for _, k := range kinds {
		ss.Spans = append(ss.Spans, testSpan(k))
	}
	return ss
}

func marshalExport(t *testing.T, rs ...*tracev1.ResourceSpans) []byte {
	t.Helper()
	b, err := proto.Marshal(&collectortrace.ExportTraceServiceRequest{ResourceSpans: rs})
	if err != nil {
		t.Fatalf("marshal export: %v", err)
	}
	return b
}

func TestCountSpans(t *testing.T) {
	const (
		server   = tracev1.Span_SPAN_KIND_SERVER
		client   = tracev1.Span_SPAN_KIND_CLIENT
		internal = tracev1.Span_SPAN_KIND_INTERNAL
	)
	resource := &resourcev1.Resource{Attributes: []*commonv1.KeyValue{{
		Key: "service.name", Value: &commonv1.AnyValue{Value: &commonv1.AnyValue_StringValue{StringValue: "tokengate"}},
	}}}
	valid := marshalExport(t, &tracev1.ResourceSpans{Resource: resource, ScopeSpans: []*tracev1.ScopeSpans{scopeSpans(server, internal)}})
	tests := []struct {
		name    string
		body    []byte
		want    spanCount
		wantErr string
	}{
		{name: "empty export", body: nil, want: spanCount{}},
		{name: "one resource, one scope", body: valid, want: spanCount{spans: 2, server: 1}},
		{
			name: "several resources and scopes",
			body: marshalExport(t,
				&tracev1.ResourceSpans{Resource: resource, ScopeSpans: []*tracev1.ScopeSpans{
					scopeSpans(server, internal, internal), scopeSpans(client),
				}},
				&tracev1.ResourceSpans{ScopeSpans: []*tracev1.ScopeSpans{scopeSpans(server, server)}},
				&tracev1.ResourceSpans{Resource: resource}, // no spans at all
			),
			want: spanCount{spans: 6, server: 3},
		},
		{name: "unspecified kind is not a server span", body: marshalExport(t,
			&tracev1.ResourceSpans{ScopeSpans: []*tracev1.ScopeSpans{scopeSpans(tracev1.Span_SPAN_KIND_UNSPECIFIED)}}),
			want: spanCount{spans: 1}},
		{name: "truncated", body: valid[:len(valid)-1], wantErr: "count the spans"},
		{name: "garbage", body: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, wantErr: "count the spans"},
		{name: "length past the end", body: protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.BytesType), 100), wantErr: "field 1"},
		{name: "resource_spans not a message", body: protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 7), wantErr: "want an embedded message"},
		{
			name: "kind not a varint",
			body: nestMessages(protowire.AppendString(protowire.AppendTag(nil, fieldSpanKind, protowire.BytesType), "server"),
				fieldSpans, fieldScopeSpans, fieldResourceSpans),
			wantErr: "want varint",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := countSpans(tt.body)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("countSpans error = %v; want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("countSpans: %v", err)
			}
			if got != tt.want {
				t.Errorf("countSpans = %+v; want %+v", got, tt.want)
			}
		})
	}
}

// nestMessages wraps b as field nums[0] of a message, that as field nums[1] of another, …
func nestMessages(b []byte, nums ...protowire.Number) []byte {
	for _, n := range nums {
		b = protowire.AppendBytes(protowire.AppendTag(nil, n, protowire.BytesType), b)
	}
	return b
}

// TestCountSpansPrefixesNeverPanic feeds every prefix of a valid export: each is counted or
// refused, and none counts more spans than the whole.
func TestCountSpansPrefixesNeverPanic(t *testing.T) {
	body := marshalExport(t, &tracev1.ResourceSpans{ScopeSpans: []*tracev1.ScopeSpans{
		scopeSpans(tracev1.Span_SPAN_KIND_SERVER, tracev1.Span_SPAN_KIND_CLIENT),
	}})
	for i := range len(body) {
		if got, err := countSpans(body[:i]); err == nil && got.spans > 2 {
			t.Errorf("countSpans(prefix %d) = %+v; want at most 2 spans", i, got)
		}
	}
}

func TestOTLPSinkCountsExports(t *testing.T) {
	body := marshalExport(t, &tracev1.ResourceSpans{ScopeSpans: []*tracev1.ScopeSpans{
		scopeSpans(tracev1.Span_SPAN_KIND_SERVER, tracev1.Span_SPAN_KIND_INTERNAL, tracev1.Span_SPAN_KIND_CLIENT),
	}})
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write(body) // a bytes.Buffer does not fail
	_ = zw.Close()
	tests := []struct {
		name       string
		method     string
		path       string
		encoding   string
		body       []byte
		wantStatus int
		want       spanCount
	}{
		{name: "uncompressed", body: body, wantStatus: http.StatusOK, want: spanCount{spans: 3, server: 1}},
		{name: "gzip", encoding: "gzip", body: zipped.Bytes(), wantStatus: http.StatusOK, want: spanCount{spans: 3, server: 1}},
		{name: "gzip header on a plain body", encoding: "gzip", body: body, wantStatus: http.StatusBadRequest},
		{name: "unknown encoding", encoding: "br", body: body, wantStatus: http.StatusBadRequest},
		{name: "malformed body", body: body[:len(body)-3], wantStatus: http.StatusBadRequest},
		{name: "not the traces path", path: "/v1/metrics", body: body, wantStatus: http.StatusNotFound},
		{name: "not a POST", method: http.MethodGet, wantStatus: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, path := cmp.Or(tt.method, http.MethodPost), cmp.Or(tt.path, "/v1/traces")
			req := httptest.NewRequest(method, path, bytes.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/x-protobuf")
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
			}
			sink := &otlpSink{}
			rec := httptest.NewRecorder()
			sink.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d; want %d (%s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if got := sink.counts(); got != tt.want {
				t.Errorf("counts = %+v; want %+v", got, tt.want)
			}
			wantUnreadable := int64(0)
			if tt.wantStatus == http.StatusBadRequest {
				wantUnreadable = 1
			}
			if got := sink.unreadable.Load(); got != wantUnreadable {
				t.Errorf("unreadable = %d; want %d", got, wantUnreadable)
			}
		})
	}
}
