package main

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"
)

// The hot-path targets, on ratios measured in the same round.
const (
	targetRatio         = 0.80 // tokengate req/s over the baseline's
	targetRedisRatio    = 0.60 // the same with the Redis store and its L1 cache
	targetP99Ratio      = 1.5  // tokengate p99 over the baseline's, at most
	targetRSSMiB        = 40   // after the single-session run
	targetSessionsRatio = 0.90 // N sessions' req/s over one session's
)

func printHeader(w io.Writer, o options, user string, answer http.Header) {
	fmt.Fprintf(w, "\ntokengate /auth vs bare net/http — %s, %s, %s/%s, %d CPUs\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), goVersion(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	tracing := "tracing off"
	if o.tracing {
		tracing = "tracing off; " + tracingName + ": the same with tracing on (100% sampled, OTLP/HTTP batch export to a local sink)"
	}
	fmt.Fprintf(w, "wrk -t%d -c{%s} -d%s --latency, %d rounds; user %s; %d session(s); %s store, %s, log warn\n",
		o.threads, joinInts(o.connections), o.duration, o.rounds, user, o.sessions, o.store, tracing)
	names := make([]string, 0, len(answer))
	for name := range answer {
		names = append(names, name)
	}
	sort.Strings(names)
	var parts []string
	for _, name := range names {
		if name != "Date" && name != "Content-Length" {
			parts = append(parts, fmt.Sprintf("%s (%d B)", name, len(strings.Join(answer[name], ", "))))
		}
	}
	fmt.Fprintf(w, "answer headers (baseline sends the same sizes): %s\n\n", strings.Join(parts, ", "))
}

func printRun(w io.Writer, m measurement) {
	r := m.res
	fmt.Fprintf(w, "round %d  c=%-3d %-18s %9.0f req/s  p50 %-9s p99 %-9s cpu %5.1f µs/req", m.round, m.conns, m.target,
		r.ReqPerSec, ms(r.P50), ms(r.P99), micros(m.cpuPerRequest))
	if r.Non2xx > 0 || r.SocketErrors > 0 {
		fmt.Fprintf(w, "  non-2xx %d, socket errors %d", r.Non2xx, r.SocketErrors)
	}
	fmt.Fprintln(w)
}

func printRoundRatios(w io.Writer, round, conns int, targets []target, runs []measurement) {
	for _, t := range targets {
		if t.baseline {
			continue
		}
		rps, p99, ok := roundRatio(runs, round, conns, t.name, baselineName(targets))
		if ok {
			fmt.Fprintf(w, "round %d  c=%-3d %-18s ratio req/s %.2f, p99 %.2f× baseline\n", round, conns, t.name, rps, p99)
		}
	}
	printTracingRoundRatio(w, round, conns, runs)
}

// roundRatio compares target with base (the baseline, or tokengate with tracing off) of the
// same round and connection count.
func roundRatio(runs []measurement, round, conns int, name, base string) (rps, p99 float64, ok bool) {
	t, okT := find(runs, round, conns, name)
	b, okB := find(runs, round, conns, base)
	if !okT || !okB || b.ReqPerSec == 0 || b.P99 == 0 {
		return 0, 0, false
	}
	return t.ReqPerSec / b.ReqPerSec, float64(t.P99) / float64(b.P99), true
}

func find(runs []measurement, round, conns int, name string) (wrkResult, bool) {
	m, ok := findRun(runs, round, conns, name)
	return m.res, ok
}

// stats are the medians over rounds of one target at one connection count.
type stats struct {
	rps, ratio, p99Ratio float64
	p50, p99             time.Duration
}

func medianStats(o options, runs []measurement, conns int, name, base string) stats {
	var rps, ratios, p99Ratios []float64
	var p50s, p99s []time.Duration
	for round := 1; round <= o.rounds; round++ {
		r, ok := find(runs, round, conns, name)
		if !ok {
			continue
		}
		rps, p50s, p99s = append(rps, r.ReqPerSec), append(p50s, r.P50), append(p99s, r.P99)
		if rr, pr, ok := roundRatio(runs, round, conns, name, base); ok {
			ratios, p99Ratios = append(ratios, rr), append(p99Ratios, pr)
		}
	}
	return stats{rps: median(rps), ratio: median(ratios), p99Ratio: median(p99Ratios), p50: median(p50s), p99: median(p99s)}
}

// summarize prints the medians table. The ratios are against the baseline; with --tracing,
// "on/off req/s" is tokengate+tracing's against tokengate's (tracing off).
func summarize(w io.Writer, o options, targets []target, runs []measurement) {
	base := baselineName(targets)
	fmt.Fprintf(w, "\nmedians of %d rounds\n", o.rounds)
	fmt.Fprintf(w, "%-5s %-18s %10s %9s %9s %12s %10s %12s", "conns", "target", "req/s", "p50", "p99", "ratio req/s", "ratio p99", "cpu µs/req")
	if o.tracing {
		fmt.Fprintf(w, " %14s", "on/off req/s")
	}
	fmt.Fprintln(w)
	for _, conns := range o.connections {
		for _, t := range targets {
			s := medianStats(o, runs, conns, t.name, base)
			ratio, p99Ratio := "-", "-"
			if !t.baseline {
				ratio, p99Ratio = fmt.Sprintf("%.2f", s.ratio), fmt.Sprintf("%.2f", s.p99Ratio)
			}
			fmt.Fprintf(w, "%-5d %-18s %10.0f %9s %9s %12s %10s %12.1f", conns, t.name, s.rps, ms(s.p50), ms(s.p99), ratio, p99Ratio,
				micros(medianCPU(o, runs, conns, t.name)))
			if o.tracing {
				onOff := "-"
				if t.name == tracingName {
					onOff = fmt.Sprintf("%.2f", medianStats(o, runs, conns, tracingName, tracingOffName).ratio)
				}
				fmt.Fprintf(w, " %14s", onOff)
			}
			fmt.Fprintln(w)
		}
	}
}

// rssAfter is each process's resident memory after the load, in KiB; tracing is 0 without
// --tracing.
type rssAfter struct {
	tokengate, tracing, baseline int
}

// printChecks prints the correctness checks and the targets. Only the checks fail the run:
// a missed target is a result to report, a failed request or an IdP call is a broken
// measurement.
func printChecks(w io.Writer, o options, targets []target, runs []measurement, calls int, rss rssAfter) []string {
	var failures []string
	non2xx, sockErrs := 0, 0
	for _, m := range runs {
		non2xx += m.res.Non2xx
		sockErrs += m.res.SocketErrors
	}
	fmt.Fprintf(w, "\nIdP token calls during the load: %d (must be 0)\n", calls)
	if calls > 0 {
		failures = append(failures, fmt.Sprintf("%d identity provider token calls during the load", calls))
	}
	fmt.Fprintf(w, "non-2xx answers: %d, socket errors: %d (must be 0)\n", non2xx, sockErrs)
	if non2xx > 0 || sockErrs > 0 {
		failures = append(failures, fmt.Sprintf("%d non-2xx answers and %d socket errors", non2xx, sockErrs))
	}
	fmt.Fprintf(w, "RSS after the run: tokengate %.1f MiB, baseline %.1f MiB", mib(rss.tokengate), mib(rss.baseline))
	if o.tracing {
		fmt.Fprintf(w, ", %s %.1f MiB (context only: the RSS target is tracing off's)", tracingName, mib(rss.tracing))
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "\ntargets (hot path):")
	base := baselineName(targets)
	ratio := targetRatio
	if o.store == "redis" {
		ratio = targetRedisRatio
	}
	for _, conns := range o.connections {
		s := medianStats(o, runs, conns, tracingOffName, base)
		check(w, fmt.Sprintf("c=%d req/s ratio ≥ %.2f", conns, ratio), s.ratio, ratio, true)
		check(w, fmt.Sprintf("c=%d p99 ratio ≤ %.2f", conns, targetP99Ratio), s.p99Ratio, targetP99Ratio, false)
		if o.sessions > 1 {
			many := medianStats(o, runs, conns, fmt.Sprintf("tokengate-%d", o.sessions), base)
			check(w, fmt.Sprintf("c=%d %d sessions / 1 session req/s ≥ %.2f", conns, o.sessions, targetSessionsRatio),
				many.rps/s.rps, targetSessionsRatio, true)
		}
	}
	if o.sessions == 1 && o.store == "cookie" {
		check(w, fmt.Sprintf("RSS ≤ %d MiB", targetRSSMiB), mib(rss.tokengate), targetRSSMiB, false)
	}
	if o.tracing {
		printTracingChecks(w, o, runs)
	}
	return failures
}

// check prints one target as met or missed, and by how much.
func check(w io.Writer, what string, got, want float64, atLeast bool) {
	met := got >= want
	if !atLeast {
		met = got <= want
	}
	verdict := "met"
	if !met {
		verdict = fmt.Sprintf("MISSED by %.0f%%", 100*abs(got-want)/want)
	}
	fmt.Fprintf(w, "  %-44s %8.2f  %s\n", what, got, verdict)
}

func baselineName(targets []target) string {
	for _, t := range targets {
		if t.baseline {
			return t.name
		}
	}
	return ""
}

// median of xs, 0 for none; the mean of the middle two for an even count.
func median[T float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func mib(kib int) float64 { return float64(kib) / 1024 }

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func joinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, ",")
}
