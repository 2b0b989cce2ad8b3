package main

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

// tracingRuns is two rounds at c=16 of the three --tracing targets.
func tracingRuns() []measurement {
	run := func(round int, name string, rps float64, p99 time.Duration, requests int) measurement {
		return measurement{round: round, conns: 16, target: name,
			res: wrkResult{ReqPerSec: rps, P50: p99 / 2, P99: p99, Requests: requests}}
	}
	return []measurement{
		run(1, tracingOffName, 20000, 2*time.Millisecond, 60000),
		run(1, tracingName, 16000, 3*time.Millisecond, 48000),
		run(1, "baseline", 25000, time.Millisecond, 75000),
		run(2, "baseline", 24000, time.Millisecond, 72000),
		run(2, tracingName, 12000, 4*time.Millisecond, 36000),
		run(2, tracingOffName, 16000, 2*time.Millisecond, 48000),
	}
}

func TestTracingRatio(t *testing.T) {
	runs := tracingRuns()
	tests := []struct {
		name         string
		round        int
		target, base string
		wantRPS      float64
		wantP99      float64
		wantOK       bool
	}{
		{name: "tracing on over off, round 1", round: 1, target: tracingName, base: tracingOffName, wantRPS: 0.8, wantP99: 1.5, wantOK: true},
		{name: "tracing on over off, round 2", round: 2, target: tracingName, base: tracingOffName, wantRPS: 0.75, wantP99: 2, wantOK: true},
		{name: "tracing off over the baseline stays within the hot-path target", round: 1, target: tracingOffName, base: "baseline", wantRPS: 0.8, wantP99: 2, wantOK: true},
		{name: "round not run", round: 3, target: tracingName, base: tracingOffName},
		{name: "no tracing-off run", round: 1, target: tracingName, base: "tokengate-10000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rps, p99, ok := roundRatio(runs, tt.round, 16, tt.target, tt.base)
			if ok != tt.wantOK || !near(rps, tt.wantRPS) || !near(p99, tt.wantP99) {
				t.Errorf("roundRatio = %.3f, %.3f, %v; want %.3f, %.3f, %v", rps, p99, ok, tt.wantRPS, tt.wantP99, tt.wantOK)
			}
		})
	}
}

func TestTracingMedians(t *testing.T) {
	o := options{rounds: 2, connections: []int{16}, tracing: true}
	tests := []struct {
		name         string
		target, base string
		want         float64
	}{
		{name: "on/off is the median of the rounds' ratios", target: tracingName, base: tracingOffName, want: (0.8 + 0.75) / 2},
		{name: "on over the baseline", target: tracingName, base: "baseline", want: (16000.0/25000 + 12000.0/24000) / 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := medianStats(o, tracingRuns(), 16, tt.target, tt.base).ratio; !near(got, tt.want) {
				t.Errorf("median ratio = %.4f; want %.4f", got, tt.want)
			}
		})
	}
	var out strings.Builder
	printTracingChecks(&out, o, tracingRuns())
	if want := "c=16 tracing on / off req/s ≥ 0.75"; !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "0.78  met") {
		t.Errorf("printTracingChecks = %q; want %q at 0.78, met", out.String(), want)
	}
}

func TestRequestsOf(t *testing.T) {
	if got, want := requestsOf(tracingRuns(), tracingName), 48000+36000; got != want {
		t.Errorf("requestsOf(%s) = %d; want %d", tracingName, got, want)
	}
}

func TestPrintSpans(t *testing.T) {
	tests := []struct {
		name    string
		tally   spanTally
		want    []string
		notWant string
	}{
		{
			name:    "every span arrived",
			tally:   spanTally{received: spanCount{spans: 3000, server: 1000}, served: 1000},
			want:    []string{"spans exported: 3000 of ~3000 made", "1000 /auth requests", "3.00 spans per request"},
			notWant: "dropped",
		},
		{
			name:  "the queue overflowed",
			tally: spanTally{received: spanCount{spans: 2700, server: 900}, served: 1000},
			want:  []string{"spans exported: 2700 of ~3000 made", "~300 spans (10.0%) were dropped", "queue (2048 by default"},
		},
		{
			name:  "no server span",
			tally: spanTally{received: spanCount{spans: 40}, served: 20},
			want:  []string{"spans exported: 40, no server span", "20 /auth requests", "2.00 spans per request implied"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			printSpans(&out, tt.tally)
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("printSpans = %q; want it to say %q", out.String(), w)
				}
			}
			if tt.notWant != "" && strings.Contains(out.String(), tt.notWant) {
				t.Errorf("printSpans = %q; want no %q", out.String(), tt.notWant)
			}
		})
	}
}

func TestSessionCookieHeader(t *testing.T) {
	tests := []struct {
		name      string
		setCookie []string
		want      string
	}{
		{name: "no Set-Cookie", want: ""},
		{name: "one rotated cookie", setCookie: []string{"_tokengate=v2; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax"}, want: "_tokengate=v2"},
		{
			name: "chunks, a deleted chunk left out",
			setCookie: []string{
				"_tokengate_0=a; Path=/; Max-Age=3600", "_tokengate_1=b; Path=/; Max-Age=3600",
				"_tokengate_2=; Path=/; Max-Age=0",
			},
			want: "_tokengate_0=a; _tokengate_1=b",
		},
		{name: "the single cookie deleted", setCookie: []string{"_tokengate=; Path=/; Max-Age=0"}, want: ""},
		{name: "other cookies ignored", setCookie: []string{"_tokengate_csrf_x=c; Path=/", "other=d; Path=/"}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sessionCookieHeader(http.Header{"Set-Cookie": tt.setCookie}); got != tt.want {
				t.Errorf("sessionCookieHeader = %q; want %q", got, tt.want)
			}
		})
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
