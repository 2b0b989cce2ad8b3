package main

import (
	"os"
	"testing"
	"time"
)

func TestParseCPUTime(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr bool
	}{
		{name: "plain", stat: "4242 (tokengate) S 1 4242 4242 0 -1 4194560 2210 0 0 0 1234 56 0 0 20 0 9 0 100 0 0",
			want: 12900 * time.Millisecond},
		{name: "command with spaces and parentheses", stat: "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 100 100 0 0 20 0 1 0 1 0 0",
			want: 2 * time.Second},
		{name: "no command", stat: "7 R 1", wantErr: true},
		{name: "too short", stat: "7 (x) R 1 2 3", wantErr: true},
		{name: "not a number", stat: "7 (x) R 1 7 7 0 -1 0 0 0 0 0 ten 100 0 0 20 0 1 0 1 0 0", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCPUTime(tt.stat)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseCPUTime error = %v; want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseCPUTime = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestCPUTimeOfThisProcess(t *testing.T) {
	if _, err := cpuTime(1 << 30); err == nil {
		t.Errorf("cpuTime of a process that cannot exist: no error")
	}
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	if got, err := cpuTime(os.Getpid()); err != nil || got <= 0 {
		t.Errorf("cpuTime(self) = %v, %v; want > 0 after busy work", got, err)
	}
}

func TestMedianCPU(t *testing.T) {
	o := options{rounds: 3}
	runs := []measurement{
		{round: 0, conns: 16, target: tracingName, cpuPerRequest: time.Hour}, // warm-up: skipped
		{round: 1, conns: 16, target: tracingName, cpuPerRequest: 30 * time.Microsecond},
		{round: 2, conns: 16, target: tracingName, cpuPerRequest: 10 * time.Microsecond},
		{round: 3, conns: 16, target: tracingName, cpuPerRequest: 20 * time.Microsecond},
		{round: 1, conns: 64, target: tracingName, cpuPerRequest: 99 * time.Microsecond},
	}
	if got := medianCPU(o, runs, 16, tracingName); got != 20*time.Microsecond {
		t.Errorf("medianCPU = %v; want 20µs", got)
	}
	if got := cpuPerRequest(time.Second, 0); got != 0 {
		t.Errorf("cpuPerRequest with no requests = %v; want 0", got)
	}
}
