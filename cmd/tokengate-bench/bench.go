package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// target is one server wrk drives.
type target struct {
	pid      int // the process serving url, for its CPU time
	name     string
	url      string
	script   string
	baseline bool
	// more are the other replicas' URLs and morePIDs their processes (--replicas, replicas.go).
	more     []string
	morePIDs []int
}

// measurement is one wrk run of one target.
type measurement struct {
	round, conns  int
	target        string
	res           wrkResult
	cpuPerRequest time.Duration // the target process's CPU time over the run, per request
}

// bench runs the whole benchmark and returns the reasons the run must fail, if any.
func bench(ctx context.Context, o options, stdout, stderr io.Writer) ([]string, error) {
	user, _ := userFor(o.groups) // parseFlags checked it
	if _, err := exec.LookPath(o.wrk); err != nil {
		return nil, fmt.Errorf("%s not found: install it with `apt-get install -y wrk` (make bench does so when root)", o.wrk)
	}
	dir, err := os.MkdirTemp("", "tokengate-bench-")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(dir) // holds the secrets, cookies and scripts of this run only

	st, err := startStack(ctx, o, dir, stderr)
	if err != nil {
		return nil, err
	}
	defer st.stop()
	cookie, err := signIn(st.authURL, user)
	if err != nil {
		return nil, err
	}
	answer, err := probe(ctx, st.authURL+"/auth", cookie)
	if err != nil {
		return nil, fmt.Errorf("tokengate: %w", err)
	}
	if err := warmReplicas(ctx, st, cookie); err != nil {
		return nil, err
	}
	tracingProbes := 0 // the /auth requests the driver sends tokengate+tracing itself
	if st.tracing != nil {
		if cookie, tracingProbes, err = warmTracing(ctx, st, cookie); err != nil {
			return nil, err
		}
	}
	baseline, baselineURL, err := startBaseline(ctx, dir, baselineHeaders(answer))
	if err != nil {
		return nil, err
	}
	defer baseline.stop()
	targets, err := buildTargets(ctx, o, st, dir, user, cookie, baselineURL, stdout)
	if err != nil {
		return nil, err
	}
	assignPIDs(targets, st, baseline)
	printHeader(stdout, o, user, answer)
	callsBefore := st.tokenCalls()
	runs, err := drive(ctx, o, st, targets, stdout)
	if err != nil {
		return nil, err
	}
	return finishRun(ctx, o, finishedRun{st: st, baseline: baseline, targets: targets, runs: runs, cookie: cookie,
		idpCalls: st.tokenCalls() - callsBefore, tracingProbes: tracingProbes}, stdout)
}

// assignPIDs names the process behind each target, for its CPU time.
func assignPIDs(targets []target, st *stack, baseline *process) {
	for i, t := range targets {
		switch {
		case t.baseline:
			targets[i].pid = baseline.pid()
		case t.name == tracingName:
			targets[i].pid = st.tracing.pid()
		default:
			targets[i].pid = st.tokengate.pid()
		}
		if len(t.more) > 0 {
			for _, p := range st.replicas {
				targets[i].morePIDs = append(targets[i].morePIDs, p.pid())
			}
		}
	}
}

// finishedRun is what the load left to check and report.
type finishedRun struct {
	st            *stack
	baseline      *process
	targets       []target
	runs          []measurement
	cookie        string
	idpCalls      int // token endpoint calls during the load
	tracingProbes int // the /auth requests the driver itself sent tokengate+tracing
}

// finishRun checks tokengate still answers, reads memory, stops tokengate+tracing (so its
// spans are all exported), prints the report and returns the reasons the run must fail.
func finishRun(ctx context.Context, o options, r finishedRun, stdout io.Writer) ([]string, error) {
	var failures []string
	if _, err := probe(ctx, r.st.authURL+"/auth", r.cookie); err != nil {
		failures = append(failures, "tokengate no longer answers 200 after the load: "+err.Error())
	}
	var rss rssAfter
	var err error
	if rss.tokengate, err = rssKiB(r.st.tokengate.pid()); err != nil {
		return nil, err
	}
	rss.baseline, _ = rssKiB(r.baseline.pid()) // for context only
	if r.st.tracing != nil {
		var fails []string
		rss.tracing, fails = finishTracing(ctx, r.st, r.cookie)
		failures = append(failures, fails...)
		r.tracingProbes++ // finishTracing's
	}
	summarize(stdout, o, r.targets, r.runs)
	if r.st.tracing != nil {
		printTracingCPU(stdout, o, r.runs)
	}
	if r.st.otlp != nil {
		failures = append(failures, reportSpans(stdout, r.st.otlp, requestsOf(r.runs, tracingName)+r.tracingProbes)...)
	}
	failures = append(failures, printChecks(stdout, o, r.targets, r.runs, r.idpCalls, rss)...)
	return failures, nil
}

// buildTargets writes the wrk scripts. One session: a static script. Several: tokengate
// with one session and with all of them, and the baseline, all through the same
// round-robin script, so the comparison between them is not a comparison of wrk scripts.
// With --tracing, tokengate+tracing runs the one-session script.
func buildTargets(ctx context.Context, o options, st *stack, dir, user, cookie, baselineURL string, stdout io.Writer) ([]target, error) {
	if o.sessions == 1 {
		script, err := writeStaticScript(dir, "one.lua", cookie)
		if err != nil {
			return nil, err
		}
		return withTracing(st, script, withReplicas(st, script, []target{
			{name: tracingOffName, url: st.authURL + "/auth", script: script},
			{name: "baseline", url: baselineURL + "/auth", script: script, baseline: true},
		})), nil
	}
	fmt.Fprintf(stdout, "signing in %d sessions as %s, %d at a time …\n", o.sessions, user, o.parallel)
	cookies, took, err := profiledSignIns(ctx, o, st, user, stdout)
	if err != nil {
		return nil, err
	}
	rss, _ := rssKiB(st.tokengate.pid())
	fmt.Fprintf(stdout, "%d real sign-ins took %s (%.0f/s); tokengate RSS now %.1f MiB\n",
		len(cookies), took.Round(time.Millisecond), float64(len(cookies))/took.Seconds(), float64(rss)/1024)
	oneFile, manyFile := filepath.Join(dir, "cookie-1.txt"), filepath.Join(dir, "cookies.txt")
	if err := os.WriteFile(oneFile, []byte(cookie+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write cookie file: %w", err)
	}
	if err := os.WriteFile(manyFile, []byte(strings.Join(cookies, "\n")+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write cookie file: %w", err)
	}
	one, err := writeRoundRobinScript(dir, "one.lua", oneFile)
	if err != nil {
		return nil, err
	}
	many, err := writeRoundRobinScript(dir, "many.lua", manyFile)
	if err != nil {
		return nil, err
	}
	return withTracing(st, one, []target{
		{name: tracingOffName, url: st.authURL + "/auth", script: one},
		{name: fmt.Sprintf("tokengate-%d", len(cookies)), url: st.authURL + "/auth", script: many},
		{name: "baseline", url: baselineURL + "/auth", script: one, baseline: true},
	}), nil
}

// withTracing inserts tokengate+tracing right after tokengate, with the one-session script,
// when the run has it.
func withTracing(st *stack, script string, targets []target) []target {
	if st.tracing == nil {
		return targets
	}
	return slices.Insert(targets, 1, target{name: tracingName, url: st.tracingURL + "/auth", script: script})
}

// drive runs every target once per connection count per round. The order of targets flips
// every round, so neither side always runs first on a machine that warms up or throttles.
func drive(ctx context.Context, o options, st *stack, targets []target, stdout io.Writer) ([]measurement, error) {
	runs, err := warmUp(ctx, o, targets)
	if err != nil {
		return nil, err
	}
	perfDone := o.perf == ""
	for round := 1; round <= o.rounds; round++ {
		for _, conns := range o.connections {
			order := append([]target(nil), targets...)
			if round%2 == 0 {
				for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
					order[i], order[j] = order[j], order[i]
				}
			}
			for _, t := range order {
				var stopPerf func()
				if !perfDone && t.name == tracingOffName {
					stopPerf = startPerf(ctx, o.perf, st.tokengate.pid(), stdout)
					perfDone = true
				}
				cpuBefore, err := cpuOf(t)
				if err != nil {
					return nil, err
				}
				res, err := runTarget(ctx, o, t, conns, o.duration)
				if stopPerf != nil {
					stopPerf()
				}
				if err != nil {
					return nil, err
				}
				cpuAfter, err := cpuOf(t)
				if err != nil {
					return nil, err
				}
				m := measurement{round: round, conns: conns, target: t.name, res: res,
					cpuPerRequest: cpuPerRequest(cpuAfter-cpuBefore, res.Requests)}
				runs = append(runs, m)
				printRun(stdout, m)
			}
			printRoundRatios(stdout, round, conns, targets, runs)
		}
	}
	return runs, nil
}

// warmUp drives every target once, unmeasured, at the highest connection count: a fresh
// process's first seconds (heap growth, page faults, the first batches of an exporter)
// otherwise land in round 1 of whichever target runs first. The runs are kept as round 0:
// the medians skip them, the failure checks and the span tally count them.
func warmUp(ctx context.Context, o options, targets []target) ([]measurement, error) {
	if o.warmup == 0 {
		return nil, nil
	}
	conns := slices.Max(o.connections)
	var runs []measurement
	for _, t := range targets {
		res, err := runTarget(ctx, o, t, conns, o.warmup)
		if err != nil {
			return nil, fmt.Errorf("warm-up of %s: %w", t.name, err)
		}
		runs = append(runs, measurement{round: 0, conns: conns, target: t.name, res: res})
	}
	return runs, nil
}

// probe sends one forward-auth request and returns the answer's headers; anything but 200
// is an error naming the status (never the body or headers, which may carry a token).
func probe(ctx context.Context, url, cookie string) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	for _, h := range forwardHeaders {
		req.Header.Set(h[0], h[1])
	}
	req.Header.Set("Cookie", cookie)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET /auth: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /auth answered %d; want 200", resp.StatusCode)
	}
	if !strings.HasPrefix(resp.Header.Get("Authorization"), "Bearer ") {
		return nil, fmt.Errorf("GET /auth answered 200 without a bearer Authorization header")
	}
	return resp.Header, nil
}

// startPerf records tokengate with perf during one run, when asked to; the returned
// function stops the recording.
func startPerf(ctx context.Context, file string, pid int, stdout io.Writer) func() {
	cmd := exec.CommandContext(ctx, "perf", "record", "-F", "999", "-g", "-o", file, "-p", fmt.Sprint(pid))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stdout, "perf: %v (profile skipped)\n", err)
		return func() {}
	}
	return func() {
		_ = cmd.Process.Signal(syscall.SIGINT) // perf writes its file on SIGINT
		_ = cmd.Wait()
		fmt.Fprintf(stdout, "perf profile of tokengate's first run in %s (perf report -i %s --no-children)\n", file, file)
	}
}

// goVersion is the toolchain that built this driver (and, by default, tokengate).
func goVersion() string { return runtime.Version() }
