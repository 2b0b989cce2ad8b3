// Package membudget sizes tokengate's in-memory caches from the memory the process may use:
// GOMEMLIMIT, else the container's cgroup limit (in Kubernetes, resources.limits.memory).
package membudget

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// Shares of the limit and floors. The token cache gets a quarter: about 4 KiB per
// Entra-sized entry, so 256 MiB of pod holds ~16 000 session-scopes. Opened cookie sessions, a
// CPU saving only, get an eighth. The rest is for Go's heap overhead (GOGC), connections and
// request buffers. Without a limit the fixed defaults of earlier releases stay.
const (
	TokenShare   = 0.25
	OpenedShare  = 0.125
	TokenFloor   = 8 << 20
	OpenedFloor  = 4 << 20
	NoLimitBytes = 64 << 20
)

// Limit is the memory the process may use, and where that figure came from.
type Limit struct {
	Bytes  int64  // 0: no limit found
	Source string // "GOMEMLIMIT", "cgroup v2 memory.max", "cgroup v1 memory.limit_in_bytes" or "none"
}

// Budget is what the caches may hold, in bytes.
type Budget struct {
	TokenCacheBytes  int64
	OpenedCacheBytes int64
}

// For returns the cache bounds for limit: its share, never below the floor, and the fixed
// defaults when there is no limit.
func For(limit Limit) Budget {
	if limit.Bytes <= 0 {
		return Budget{TokenCacheBytes: NoLimitBytes, OpenedCacheBytes: NoLimitBytes}
	}
	return Budget{
		TokenCacheBytes:  max(int64(float64(limit.Bytes)*TokenShare), TokenFloor),
		OpenedCacheBytes: max(int64(float64(limit.Bytes)*OpenedShare), OpenedFloor),
	}
}

// RuntimeShare is the part of a cgroup limit handed to the Go runtime as its soft memory
// limit when GOMEMLIMIT is not set: the rest covers memory the runtime does not count
// (thread stacks, the binary, page cache charged to the container).
const RuntimeShare = 0.9

// RuntimeLimit is the soft memory limit to give the Go runtime for limit: RuntimeShare of a
// cgroup limit. It reports false when GOMEMLIMIT already set it, or when there is no limit.
func RuntimeLimit(limit Limit) (int64, bool) {
	if limit.Bytes <= 0 || limit.Source == "GOMEMLIMIT" {
		return 0, false
	}
	return int64(float64(limit.Bytes) * RuntimeShare), true
}

// Files are where Detect looks for the cgroup limit; tests point them elsewhere.
type Files struct {
	CgroupV2, CgroupV1 string
}

// DefaultFiles are the cgroup paths inside a container.
var DefaultFiles = Files{
	CgroupV2: "/sys/fs/cgroup/memory.max",
	CgroupV1: "/sys/fs/cgroup/memory/memory.limit_in_bytes",
}

// Detect finds the memory limit: GOMEMLIMIT when set (the Go runtime's own target, which
// an operator sets below the container limit), else the cgroup limit.
func Detect(files Files) (Limit, error) {
	if v := debug.SetMemoryLimit(-1); v > 0 && v < math.MaxInt64 {
		return Limit{Bytes: v, Source: "GOMEMLIMIT"}, nil
	}
	if b, ok, err := readLimit(files.CgroupV2); err != nil || ok {
		return Limit{Bytes: b, Source: "cgroup v2 memory.max"}, err
	}
	if b, ok, err := readLimit(files.CgroupV1); err != nil || ok {
		return Limit{Bytes: b, Source: "cgroup v1 memory.limit_in_bytes"}, err
	}
	return Limit{Source: "none"}, nil
}

// readLimit reads a cgroup limit file. A missing file, "max" (v2) or a value near 2^63
// (v1's "unlimited") is no limit.
func readLimit(path string) (int64, bool, error) {
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) || os.IsPermission(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read memory limit %s: %w", path, err)
	}
	v := strings.TrimSpace(string(raw))
	if v == "max" || v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("read memory limit %s: %q is not a number", path, v)
	}
	if n <= 0 || n >= math.MaxInt64/2 {
		return 0, false, nil
	}
	return n, true, nil
}
