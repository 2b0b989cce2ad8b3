package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// The targets of --tracing: the same binary and configuration file twice, tracing off and
// tracing on, driven in the same rounds, so their ratio is measured in one run.
const (
	tracingOffName = "tokengate"
	tracingName    = "tokengate+tracing"
)

// targetTracingRatio is the tracing budget: tracing on (sampled at 100% to an exporter) may
// cut /auth cache-hit req/s by 25% at most.
const targetTracingRatio = 0.75

// startTracingTokengate starts the second tokengate process: the first one's binary and
// configuration file, its own loopback port (TOKENGATE_LISTEN) and tracing on, exporting
// to the OTLP sink. It shares the cookie secret, so the sessions of the run work on both.
func (s *stack) startTracingTokengate(ctx context.Context, bin, configPath string) error {
	env, err := s.startOTLPSink()
	if err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	env = append(env, "TOKENGATE_LISTEN="+addr)
	s.tracing, err = startProcessEnv(ctx, tracingName, bin, env, "serve", "--config", configPath)
	if err != nil {
		return err
	}
	s.tracingURL = "http://" + addr
	return waitHealthy(ctx, s.tracing, s.tracingURL+"/readyz")
}

// warmTracing sends tokengate+tracing its first /auth and returns the Cookie header every
// target must send, and how many /auth requests it sent.
//
// The session was signed in through the first process, whose token cache holds its access
// token; the second process has none, so its first /auth refreshes at the identity
// provider, which rotates the refresh token (as Entra does). From then on every /auth with
// the sign-in cookie would write the rotated token back (Set-Cookie, a sealed session per
// request): not the cache hit the budget is about. So the driver takes the rotated cookie from
// that first answer and sends it to every target. A session whose refresh token is newer
// than the one a cache entry was made with is a plain hit in both processes (the session
// package's newestRefreshToken), which the driver checks: neither answers with Set-Cookie.
func warmTracing(ctx context.Context, st *stack, cookie string) (string, int, error) {
	answer, err := probe(ctx, st.tracingURL+"/auth", cookie)
	if err != nil {
		return "", 1, fmt.Errorf("%s: %w", tracingName, err)
	}
	sent := 1
	if rotated := sessionCookieHeader(answer); rotated != "" {
		cookie = rotated
	} else if strings.Contains(cookie, ";") {
		// A session of several cookies is never rewritten from /auth (ingress-nginx relays one
		// Set-Cookie), so the rotation cannot reach the driver, and the second process would
		// re-seal the session on every /auth.
		return "", sent, fmt.Errorf("--tracing: the signed-in session takes several cookies, so %s cannot hand back its rotated refresh token and would re-seal the session on every /auth instead of serving cache hits; use --groups 1",
			tracingName)
	}
	for _, url := range []string{st.authURL, st.tracingURL} {
		answer, err := probe(ctx, url+"/auth", cookie)
		if url == st.tracingURL {
			sent++
		}
		if err != nil {
			return "", sent, fmt.Errorf("%s with the rotated session: %w", url, err)
		}
		if len(answer.Values("Set-Cookie")) > 0 {
			return "", sent, fmt.Errorf("%s/auth still rewrites the session cookie after the warm-up: not a cache hit", url)
		}
	}
	return cookie, sent, nil
}

// finishTracing checks with one /auth that tokengate+tracing still answers, reads its RSS
// (for context only) and stops it: on SIGTERM tokengate exports the spans it still queues,
// so the sink's count is final afterwards. It returns the RSS and the failures, if any.
func finishTracing(ctx context.Context, st *stack, cookie string) (int, []string) {
	var failures []string
	if _, err := probe(ctx, st.tracingURL+"/auth", cookie); err != nil {
		failures = append(failures, tracingName+" no longer answers 200 after the load: "+err.Error())
	}
	rss, _ := rssKiB(st.tracing.pid())
	st.tracing.stop()
	if st.tracing.err != nil {
		failures = append(failures, fmt.Sprintf("%s did not shut down cleanly: %v\n%s", tracingName, st.tracing.err, st.tracing.output()))
	}
	return rss, failures
}

// sessionCookieHeader is the Cookie header that carries the session an answer set, or ""
// when it set none. Deletions of chunks no longer used are left out.
func sessionCookieHeader(answer http.Header) string {
	var parts []string
	for _, c := range (&http.Response{Header: answer}).Cookies() {
		isSession := c.Name == sessionCookieName ||
			(strings.HasPrefix(c.Name, sessionCookieName+"_") && !strings.Contains(c.Name, "_csrf_"))
		if isSession && c.MaxAge >= 0 && c.Value != "" {
			parts = append(parts, c.Name+"="+c.Value)
		}
	}
	return strings.Join(parts, "; ")
}

// spanTally is what the OTLP sink received against what tokengate+tracing served.
type spanTally struct {
	received spanCount
	served   int // /auth requests: wrk's counts plus the driver's own probes
}

// perRequest is the spans one /auth makes, measured rather than assumed: spans received
// per server span received, as every /auth makes exactly one server span, its root. The
// batch span processor drops whichever span ends while its queue is full, root or child
// alike, so the ratio holds roughly even when some were lost. Zero when no server span
// arrived.
func (t spanTally) perRequest() float64 {
	if t.received.server == 0 {
		return 0
	}
	return float64(t.received.spans) / float64(t.received.server)
}

// printSpans says how many spans arrived against how many tokengate+tracing made. It is
// read after that process stopped: SIGTERM makes tokengate flush its batch span processor,
// so what is missing was dropped, not still queued.
func printSpans(w io.Writer, t spanTally) {
	per := t.perRequest()
	if per == 0 {
		fmt.Fprintf(w, "spans exported: %d, no server span among them; %d /auth requests served (%.2f spans per request implied)\n",
			t.received.spans, t.served, float64(t.received.spans)/float64(max(t.served, 1)))
		return
	}
	fmt.Fprintf(w, "spans exported: %d of ~%.0f made (%d /auth requests served by %s × %.2f spans per request, measured as spans per server span)\n",
		t.received.spans, float64(t.served)*per, t.served, tracingName, per)
	if missing := t.served - t.received.server; missing > 0 {
		fmt.Fprintf(w, "  ~%.0f spans (%.1f%%) were dropped: the batch span processor drops spans when its queue (2048 by default, OTEL_BSP_MAX_QUEUE_SIZE) is full\n",
			float64(missing)*per, 100*float64(missing)/float64(t.served))
	}
}

// requestsOf sums the requests wrk counted for one target over the run.
func requestsOf(runs []measurement, name string) int {
	n := 0
	for _, m := range runs {
		if m.target == name {
			n += m.res.Requests
		}
	}
	return n
}

// printTracingRoundRatio prints tracing on over tracing off for one round.
func printTracingRoundRatio(w io.Writer, round, conns int, runs []measurement) {
	if rps, p99, ok := roundRatio(runs, round, conns, tracingName, tracingOffName); ok {
		fmt.Fprintf(w, "round %d  c=%-3d %-18s ratio req/s %.2f, p99 %.2f× tracing off\n", round, conns, tracingName, rps, p99)
	}
}

// printTracingChecks prints the tracing budget's target for every connection count.
func printTracingChecks(w io.Writer, o options, runs []measurement) {
	fmt.Fprintln(w, "\ntargets (tracing budget):")
	for _, conns := range o.connections {
		s := medianStats(o, runs, conns, tracingName, tracingOffName)
		check(w, fmt.Sprintf("c=%d tracing on / off req/s ≥ %.2f", conns, targetTracingRatio), s.ratio, targetTracingRatio, true)
	}
}

// reportSpans prints what the OTLP sink received against the /auth requests
// tokengate+tracing served, and returns the reasons the run must fail, if any.
func reportSpans(w io.Writer, sink *otlpSink, served int) []string {
	fmt.Fprintln(w, "\n"+sink.summary())
	c := sink.counts()
	printSpans(w, spanTally{received: c, served: served})
	var failures []string
	if c.spans == 0 {
		failures = append(failures, "--tracing: "+tracingName+" exported no spans to the OTLP sink")
	}
	if n := sink.unreadable.Load(); n > 0 {
		failures = append(failures, fmt.Sprintf("the OTLP sink could not read %d exports", n))
	}
	return failures
}
