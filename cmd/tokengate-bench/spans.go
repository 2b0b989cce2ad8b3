package main

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of the OTLP trace messages the sink walks (opentelemetry-proto,
// collector/trace/v1/trace_service.proto and trace/v1/trace.proto). The sink reads the wire
// format directly instead of unmarshalling into the generated types: it shares the machine's
// CPUs with tokengate and wrk, and it needs two numbers out of every span, not the span.
const (
	fieldResourceSpans protowire.Number = 1 // ExportTraceServiceRequest.resource_spans
	fieldScopeSpans    protowire.Number = 2 // ResourceSpans.scope_spans
	fieldSpans         protowire.Number = 2 // ScopeSpans.spans
	fieldSpanKind      protowire.Number = 6 // Span.kind
	spanKindServer                      = 2 // Span.SpanKind SPAN_KIND_SERVER
)

// spanCount is what one or more OTLP exports carried.
type spanCount struct {
	spans  int // every span
	server int // spans of kind server: tokengate makes exactly one per request it serves
}

// countSpans counts the spans of an ExportTraceServiceRequest in protobuf wire format. A
// truncated or malformed body is an error, never a panic: protowire bounds every read.
func countSpans(body []byte) (spanCount, error) {
	var c spanCount
	err := eachMessage(body, fieldResourceSpans, func(rs []byte) error {
		return eachMessage(rs, fieldScopeSpans, func(ss []byte) error {
			return eachMessage(ss, fieldSpans, func(span []byte) error {
				kind, err := spanKind(span)
				if err != nil {
					return fmt.Errorf("span %d: %w", c.spans, err)
				}
				c.spans++
				if kind == spanKindServer {
					c.server++
				}
				return nil
			})
		})
	})
	if err != nil {
		return spanCount{}, fmt.Errorf("count the spans of an OTLP export: %w", err)
	}
	return c, nil
}

// spanKind reads Span.kind; an absent field is 0, SPAN_KIND_UNSPECIFIED.
func spanKind(span []byte) (uint64, error) {
	var kind uint64
	err := walk(span, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if num != fieldSpanKind {
			return nil
		}
		if typ != protowire.VarintType {
			return fmt.Errorf("field %d (kind): wire type %d; want varint", num, typ)
		}
		kind, _ = protowire.ConsumeVarint(v) // walk consumed it already
		return nil
	})
	return kind, err
}

// eachMessage calls fn with the content of every field num of the message b, which must be
// length-delimited (an embedded message); it skips the other fields.
func eachMessage(b []byte, num protowire.Number, fn func([]byte) error) error {
	return walk(b, func(n protowire.Number, typ protowire.Type, v []byte) error {
		if n != num {
			return nil
		}
		if typ != protowire.BytesType {
			return fmt.Errorf("field %d: wire type %d; want an embedded message", n, typ)
		}
		return fn(v)
	})
}

// walk calls fn for every field of the message b with its number, wire type and value: the
// content of a length-delimited field, the raw bytes of any other.
func walk(b []byte, fn func(protowire.Number, protowire.Type, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		if typ == protowire.BytesType {
			v, n = protowire.ConsumeBytes(b)
		} else {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n >= 0 {
				v = b[:n]
			}
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, typ, v); err != nil {
			return err
		}
	}
	return nil
}
