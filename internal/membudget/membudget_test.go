package membudget

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

func TestFor(t *testing.T) {
	tests := []struct {
		name       string
		limit      int64
		wantTokens int64
		wantOpened int64
	}{
		{name: "no limit", limit: 0, wantTokens: 64 << 20, wantOpened: 64 << 20},
		{name: "256 MiB pod", limit: 256 << 20, wantTokens: 64 << 20, wantOpened: 32 << 20},
		{name: "1 GiB pod", limit: 1 << 30, wantTokens: 256 << 20, wantOpened: 128 << 20},
		{name: "tiny pod hits the floors", limit: 16 << 20, wantTokens: 8 << 20, wantOpened: 4 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := For(Limit{Bytes: tt.limit})
			if got.TokenCacheBytes != tt.wantTokens || got.OpenedCacheBytes != tt.wantOpened {
				t.Errorf("For(%d) = %+v; want tokens %d, opened %d", tt.limit, got, tt.wantTokens, tt.wantOpened)
			}
		})
	}
}

func TestDetectCgroup(t *testing.T) {
	if v := debug.SetMemoryLimit(-1); v < math.MaxInt64 {
		t.Skip("GOMEMLIMIT is set for this test process; Detect would rightly prefer it")
	}
	write := func(t *testing.T, content string) string {
		p := filepath.Join(t.TempDir(), "limit")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name      string
		v2, v1    string // file contents; "-" means missing
		wantBytes int64
		wantErr   bool
	}{
		{name: "v2 limit", v2: "536870912\n", v1: "-", wantBytes: 512 << 20},
		{name: "v2 max falls through to v1", v2: "max\n", v1: "268435456\n", wantBytes: 256 << 20},
		{name: "v1 unlimited", v2: "-", v1: "9223372036854771712\n", wantBytes: 0},
		{name: "none", v2: "-", v1: "-", wantBytes: 0},
		{name: "garbage", v2: "lots\n", v1: "-", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := Files{CgroupV2: filepath.Join(t.TempDir(), "missing"), CgroupV1: filepath.Join(t.TempDir(), "missing")}
			if tt.v2 != "-" {
				files.CgroupV2 = write(t, tt.v2)
			}
			if tt.v1 != "-" {
				files.CgroupV1 = write(t, tt.v1)
			}
			got, err := Detect(files)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Detect error = %v; want error %v", err, tt.wantErr)
			}
			if got.Bytes != tt.wantBytes {
				t.Errorf("Detect = %+v; want %d bytes", got, tt.wantBytes)
			}
		})
	}
}

func TestRuntimeLimit(t *testing.T) {
	tests := []struct {
		name   string
		limit  Limit
		want   int64
		wantOK bool
	}{
		{name: "cgroup", limit: Limit{Bytes: 1000 << 20, Source: "cgroup v2 memory.max"}, want: 900 << 20, wantOK: true},
		{name: "GOMEMLIMIT already set", limit: Limit{Bytes: 1000 << 20, Source: "GOMEMLIMIT"}},
		{name: "no limit", limit: Limit{Source: "none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := RuntimeLimit(tt.limit)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("RuntimeLimit(%+v) = %d, %v; want %d, %v", tt.limit, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
