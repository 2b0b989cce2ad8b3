package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

const wrkClean = `Running 10s test @ http://127.0.0.1:4180/auth
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   612.45us    1.20ms  28.32ms   95.12%
    Req/Sec    14.12k     1.23k   18.00k    70.00%
  Latency Distribution
     50%  312.00us
     75%  450.00us
     90%  800.00us
     99%    6.10ms
  281234 requests in 10.00s, 400.00MB read
Requests/sec:  28112.35
Transfer/sec:     40.00MB
`

const wrkFailing = `Running 10s test @ http://127.0.0.1:4180/auth
  2 threads and 64 connections
  Latency Distribution
     50%    1.50ms
     75%    2.00ms
     90%    3.00ms
     99%    2.10s
  1000 requests in 10.00s, 1.00MB read
  Socket errors: connect 0, read 2, write 1, timeout 4
  Non-2xx or 3xx responses: 12
Requests/sec:    100.00
Transfer/sec:     10.00KB
`

func TestParseWrk(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    wrkResult
		wantErr string
	}{
		{
			name: "clean run",
			out:  wrkClean,
			want: wrkResult{ReqPerSec: 28112.35, P50: 312 * time.Microsecond, P99: 6100 * time.Microsecond, Requests: 281234},
		},
		{
			name: "errors and non-2xx are counted",
			out:  wrkFailing,
			want: wrkResult{ReqPerSec: 100, P50: 1500 * time.Microsecond, P99: 2100 * time.Millisecond, Requests: 1000, Non2xx: 12, SocketErrors: 7},
		},
		{
			name:    "no latency distribution",
			out:     strings.ReplaceAll(wrkClean, "99%", "98%"),
			wantErr: "--latency",
		},
		{
			name:    "wrk printed no summary",
			out:     "unable to connect to 127.0.0.1:4180 Connection refused\n",
			wantErr: "Requests/sec",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseWrk(tt.out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseWrk error = %v; want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseWrk: %v", err)
			}
			if got != tt.want {
				t.Errorf("parseWrk = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{name: "none", in: nil, want: 0},
		{name: "odd count takes the middle", in: []float64{3, 1, 2}, want: 2},
		{name: "even count averages the middle two", in: []float64{4, 1, 3, 2}, want: 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.in); got != tt.want {
				t.Errorf("median(%v) = %v; want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestBaselineHeadersKeepSizesNotTokens(t *testing.T) {
	token := "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiI2ZGFlIn0.c2lnbmF0dXJl"
	answer := http.Header{
		"Authorization":               {"Bearer " + token},
		"X-Auth-Request-Access-Token": {token},
		"X-Auth-Request-User":         {"bob@contoso.example"},
		"Cache-Control":               {"no-store"},
		"Date":                        {"Thu, 26 Nov 2026 12:00:00 GMT"},
		"Content-Length":              {"0"},
	}
	got := baselineHeaders(answer)
	for name, values := range got {
		if strings.Contains(strings.Join(values, ""), "eyJ") {
			t.Errorf("baseline header %s carries the token", name)
		}
	}
	for _, name := range []string{"Authorization", "X-Auth-Request-Access-Token", "X-Auth-Request-User", "Cache-Control"} {
		if g, w := len(got.Get(name)), len(answer.Get(name)); g != w {
			t.Errorf("baseline %s is %d bytes; want %d", name, g, w)
		}
	}
	if !strings.HasPrefix(got.Get("Authorization"), "Bearer ") {
		t.Errorf("baseline Authorization = %q; want the Bearer scheme kept", got.Get("Authorization"))
	}
	for _, name := range []string{"Date", "Content-Length"} {
		if _, ok := got[name]; ok {
			t.Errorf("baseline copies %s; net/http writes it itself", name)
		}
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "defaults", args: nil},
		{name: "variants", args: []string{"--sessions", "10000", "--groups", "200", "--connections", "16, 64"}},
		{name: "tracing with many sessions", args: []string{"--tracing", "--sessions", "100"}},
		{name: "unknown group count", args: []string{"--groups", "7"}, wantErr: "--groups"},
		{name: "bad connections", args: []string{"--connections", "16,x"}, wantErr: "--connections"},
		{name: "unknown store", args: []string{"--store", "memcached"}, wantErr: "--store"},
		{name: "stray argument", args: []string{"now"}, wantErr: "unexpected"},
		{name: "no warm-up", args: []string{"--warmup", "0"}},
		{name: "warm-up under a second", args: []string{"--warmup", "500ms"}, wantErr: "--warmup"},
		{name: "replicas on redis", args: []string{"--store", "redis", "--replicas", "3"}},
		{name: "replicas on cookies", args: []string{"--replicas", "2"}, wantErr: "--replicas"},
		{name: "replicas with many sessions", args: []string{"--store", "redis", "--replicas", "2", "--sessions", "10"}, wantErr: "--replicas"},
		{name: "too many replicas", args: []string{"--store", "redis", "--replicas", "9"}, wantErr: "--replicas"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFlags(tt.args, &strings.Builder{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("parseFlags(%q): %v", tt.args, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("parseFlags(%q) error = %v; want one mentioning %q", tt.args, err, tt.wantErr)
			}
		})
	}
}
