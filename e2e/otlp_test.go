package e2e

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tokengate/tokengate/internal/otlpbody"
)

// span is one exported span, with every attribute rendered as a string.
type span struct {
	Name, TraceID, SpanID, ParentID string
	Kind                            tracepb.Span_SpanKind
	Service                         string // the resource's service.name
	Attrs                           map[string]string
	StatusCode                      tracepb.Status_StatusCode
	StatusMessage                   string
	// Fields are every string the span carries, for the leak check: attributes, events
	// and their attributes, links' trace state, the status message.
	Fields []field
}

type field struct{ Where, Value string }

// otlpReceiver is an OTLP/HTTP trace collector (OTLP specification, "OTLP/HTTP": POST
// /v1/traces, binary protobuf, optionally gzip) that keeps what it receives.
type otlpReceiver struct {
	srv *httptest.Server

	mu     sync.Mutex
	spans  []span
	bodies [][]byte // the decoded-from-gzip export bodies
	errs   []error
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	rc := &otlpReceiver{}
	rc.srv = httptest.NewServer(rc)
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := rc.read(r)
	var req coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &req)
	}
	if err != nil {
		rc.mu.Lock()
		rc.errs = append(rc.errs, err)
		rc.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	spans := decodeSpans(&req)
	rc.mu.Lock()
	rc.spans = append(rc.spans, spans...)
	rc.bodies = append(rc.bodies, body)
	rc.mu.Unlock()
	resp, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{}) // an empty message always marshals
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}

// read returns the protobuf body of an export request.
func (rc *otlpReceiver) read(r *http.Request) ([]byte, error) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		return nil, fmt.Errorf("%s %s; want POST /v1/traces", r.Method, r.URL.Path)
	}
	return otlpbody.Read(r, 16<<20)
}

// decodeSpans flattens an export request into spans.
func decodeSpans(req *coltracepb.ExportTraceServiceRequest) []span {
	var out []span
	for _, rs := range req.GetResourceSpans() {
		service := attrMap(rs.GetResource().GetAttributes())["service.name"]
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				sp := span{
					Name: s.GetName(), Kind: s.GetKind(), Service: service,
					TraceID: hex.EncodeToString(s.GetTraceId()), SpanID: hex.EncodeToString(s.GetSpanId()),
					ParentID: hex.EncodeToString(s.GetParentSpanId()), Attrs: attrMap(s.GetAttributes()),
					StatusCode: s.GetStatus().GetCode(), StatusMessage: s.GetStatus().GetMessage(),
				}
				sp.Fields = append(sp.Fields, field{"trace state", s.GetTraceState()}, field{"status message", sp.StatusMessage})
				sp.Fields = appendFields(sp.Fields, "attribute", s.GetAttributes())
				for _, e := range s.GetEvents() {
					sp.Fields = append(sp.Fields, field{"event name", e.GetName()})
					sp.Fields = appendFields(sp.Fields, "event "+e.GetName()+" attribute", e.GetAttributes())
				}
				for _, l := range s.GetLinks() {
					sp.Fields = append(sp.Fields, field{"link trace state", l.GetTraceState()})
					sp.Fields = appendFields(sp.Fields, "link attribute", l.GetAttributes())
				}
				out = append(out, sp)
			}
		}
	}
	return out
}

func attrMap(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = valueString(kv.GetValue())
	}
	return m
}

func appendFields(fs []field, where string, kvs []*commonpb.KeyValue) []field {
	for _, kv := range kvs {
		fs = append(fs, field{where + " " + kv.GetKey(), valueString(kv.GetValue())})
	}
	return fs
}

// valueString renders an attribute value as the SDK's attribute.Value.Emit would.
func valueString(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	case *commonpb.AnyValue_BytesValue:
		return string(x.BytesValue)
	case *commonpb.AnyValue_ArrayValue:
		parts := make([]string, 0, len(x.ArrayValue.GetValues()))
		for _, e := range x.ArrayValue.GetValues() {
			parts = append(parts, valueString(e))
		}
		return "[" + strings.Join(parts, ",") + "]"
	case *commonpb.AnyValue_KvlistValue:
		parts := make([]string, 0, len(x.KvlistValue.GetValues()))
		for _, kv := range x.KvlistValue.GetValues() {
			parts = append(parts, kv.GetKey()+"="+valueString(kv.GetValue()))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return ""
}

// waitServerSpan polls until the /auth server span of traceID has arrived. Its children end
// before it, so the batch processor has exported them by then too.
func (rc *otlpReceiver) waitServerSpan(t *testing.T, traceID string) span {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		spans, _ := rc.all()
		for _, s := range spans {
			if s.TraceID == traceID && s.Name == "GET /auth" {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no GET /auth span of trace %s within 10s; received %d spans (receiver errors: %v)", traceID, len(spans), rc.err())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// child returns the span called name directly under parent.
func (rc *otlpReceiver) child(parent span, name string) (span, bool) {
	spans, _ := rc.all()
	for _, s := range spans {
		if s.TraceID == parent.TraceID && s.ParentID == parent.SpanID && s.Name == name {
			return s, true
		}
	}
	return span{}, false
}

// names lists the spans received for traceID, for a failure message or the log.
func (rc *otlpReceiver) names(traceID string) []string {
	spans, _ := rc.all()
	var names []string
	for _, s := range spans {
		if s.TraceID == traceID {
			names = append(names, s.Name)
		}
	}
	return names
}

func (rc *otlpReceiver) all() ([]span, [][]byte) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]span(nil), rc.spans...), append([][]byte(nil), rc.bodies...)
}

// err reports the export requests the receiver could not read.
func (rc *otlpReceiver) err() error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return errors.Join(rc.errs...)
}
