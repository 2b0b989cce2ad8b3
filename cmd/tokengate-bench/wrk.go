package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// forwardHeaders are what Traefik's ForwardAuth sends for an XHR to a dashboard's API.
// Accept: application/json makes a lost session a 401 (not a 302), which wrk counts as a
// failure: wrk's "Non-2xx or 3xx" counter only counts statuses above 399.
var forwardHeaders = [][2]string{
	{"X-Forwarded-Method", "GET"},
	{"X-Forwarded-Proto", "https"},
	{"X-Forwarded-Host", "headlamp.example.com"},
	{"X-Forwarded-Uri", "/api/v1/namespaces/default/pods?limit=500"},
	{"X-Forwarded-For", "10.1.2.3"},
	{"Accept", "application/json"},
}

// writeStaticScript writes a wrk script that sends one cookie on every request. It lives
// in the run's private directory, never on wrk's command line where ps would show it.
func writeStaticScript(dir, name, cookie string) (string, error) {
	var b strings.Builder
	b.WriteString("wrk.method = \"GET\"\n")
	for _, h := range forwardHeaders {
		fmt.Fprintf(&b, "wrk.headers[%q] = %q\n", h[0], h[1])
	}
	fmt.Fprintf(&b, "wrk.headers[\"Cookie\"] = %q\n", cookie)
	return writeScript(dir, name, b.String())
}

// writeRoundRobinScript writes a wrk script that cycles through the Cookie headers in
// cookieFile, one per line. Each thread formats every request once at start and starts at
// its own offset, so the Lua cost per request is a table lookup.
func writeRoundRobinScript(dir, name, cookieFile string) (string, error) {
	var b strings.Builder
	b.WriteString("wrk.method = \"GET\"\n")
	for _, h := range forwardHeaders {
		fmt.Fprintf(&b, "wrk.headers[%q] = %q\n", h[0], h[1])
	}
	fmt.Fprintf(&b, `local nthreads = 0
function setup(thread)
  thread:set("offset", nthreads)
  nthreads = nthreads + 1
end
local reqs = {}
local i = 0
function init(args)
  for line in io.lines(%q) do
    wrk.headers["Cookie"] = line
    reqs[#reqs + 1] = wrk.format()
  end
  i = (offset or 0) * 7919 %% #reqs
end
function request()
  i = i %% #reqs + 1
  return reqs[i]
end
`, cookieFile)
	return writeScript(dir, name, b.String())
}

func writeScript(dir, name, content string) (string, error) {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return "", fmt.Errorf("write wrk script: %w", err)
	}
	return path, nil
}

// wrkResult is what one wrk run measured.
type wrkResult struct {
	ReqPerSec    float64
	P50, P99     time.Duration
	Requests     int
	Non2xx       int // wrk: "Non-2xx or 3xx responses" (statuses above 399)
	SocketErrors int // connect + read + write + timeout
}

// runWrk drives url for d with the given threads and connections and parses the result.
func runWrk(ctx context.Context, wrk, url, script string, threads, conns int, d time.Duration) (wrkResult, error) {
	args := []string{
		"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns),
		"-d" + strconv.Itoa(int(d/time.Second)) + "s", "--latency", "-s", script, url,
	}
	out, err := exec.CommandContext(ctx, wrk, args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	res, err := parseWrk(string(out))
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return res, nil
}

var (
	wrkRate     = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkTotal    = regexp.MustCompile(`(?m)^\s*([0-9]+) requests in `)
	wrkNon2xx   = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses:\s+([0-9]+)`)
	wrkSocket   = regexp.MustCompile(`(?m)^\s*Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)`)
	wrkPercent  = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s|m|h)\s*$`)
	wrkDuration = map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour}
)

// parseWrk reads the summary of `wrk --latency`. Requests/sec, the request count and the
// 50th and 99th percentiles are required; the error and non-2xx lines appear only when
// there were some.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := wrkRate.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec line in wrk's output")
	}
	r.ReqPerSec, _ = strconv.ParseFloat(m[1], 64) // the pattern admits only digits and dots
	m = wrkTotal.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no request count in wrk's output")
	}
	r.Requests, _ = strconv.Atoi(m[1])
	for _, p := range wrkPercent.FindAllStringSubmatch(out, -1) {
		v, err := strconv.ParseFloat(p[2], 64)
		if err != nil {
			return r, fmt.Errorf("latency %s%s: %w", p[2], p[3], err)
		}
		d := time.Duration(v * float64(wrkDuration[p[3]]))
		if p[1] == "50" {
			r.P50 = d
		} else {
			r.P99 = d
		}
	}
	if r.P50 == 0 || r.P99 == 0 {
		return r, fmt.Errorf("no 50%%/99%% latency lines in wrk's output (run with --latency)")
	}
	if m = wrkNon2xx.FindStringSubmatch(out); m != nil {
		r.Non2xx, _ = strconv.Atoi(m[1])
	}
	if m = wrkSocket.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			r.SocketErrors += n
		}
	}
	return r, nil
}
