// Package otlpbody reads the body of an OTLP/HTTP export request, for the receivers that
// stand in for a collector: the benchmark's span-counting sink and the end-to-end tests'.
package otlpbody

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// Read returns the protobuf body of an export request, gunzipped when the exporter
// compressed it (OTEL_EXPORTER_OTLP_COMPRESSION=gzip), and refuses anything but
// application/x-protobuf or a body over limit bytes once decompressed.
func Read(r *http.Request, limit int64) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/x-protobuf" {
			return nil, fmt.Errorf("header Content-Type %q; want application/x-protobuf", ct)
		}
	}
	var body io.Reader = r.Body
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		defer zr.Close()
		body = zr
	default:
		return nil, fmt.Errorf("header Content-Encoding %q; want gzip or none", enc)
	}
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("read export body: %w", err)
	case int64(len(data)) > limit:
		return nil, errors.New("export body over the limit")
	}
	return data, nil
}
