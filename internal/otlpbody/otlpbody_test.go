package otlpbody

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write([]byte("spans"))
	_ = zw.Close()
	tests := []struct {
		name     string
		body     []byte
		ctype    string
		encoding string
		limit    int64
		want     string
		wantErr  string
	}{
		{name: "plain", body: []byte("spans"), ctype: "application/x-protobuf", limit: 10, want: "spans"},
		{name: "no content type", body: []byte("spans"), limit: 10, want: "spans"},
		{name: "gzip", body: zipped.Bytes(), ctype: "application/x-protobuf", encoding: "gzip", limit: 10, want: "spans"},
		{name: "json", body: []byte("{}"), ctype: "application/json", limit: 10, wantErr: "Content-Type"},
		{name: "brotli", body: []byte("x"), encoding: "br", limit: 10, wantErr: "Content-Encoding"},
		{name: "not gzip", body: []byte("spans"), encoding: "gzip", limit: 10, wantErr: "gzip"},
		{name: "over the limit", body: []byte("spans"), limit: 4, wantErr: "over the limit"},
		{name: "at the limit", body: []byte("spans"), limit: 5, want: "spans"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader(tt.body))
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			if tt.encoding != "" {
				r.Header.Set("Content-Encoding", tt.encoding)
			}
			got, err := Read(r, tt.limit)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Read error = %v; want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("Read = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
