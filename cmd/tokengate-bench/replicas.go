package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// --replicas N (Redis store): N-1 more tokengate processes on the same Redis and the same
// configuration, and a target that drives all N at once, as an ingress spreads requests
// over a Deployment's pods. The run's connections are split evenly, one wrk per replica,
// all started together. The target's req/s is their sum; its p50 and p99 are the slowest
// replica's; its CPU per request counts every replica. On one machine the replicas share
// its cores with wrk and Redis, so this measures what several replicas cost, not how a
// cluster scales.

// replicasName names the target that drives every replica.
func replicasName(n int) string { return fmt.Sprintf("tokengate×%d", n) }

// startReplicas starts the extra replicas on free loopback ports (TOKENGATE_LISTEN) with
// env, and waits until each is ready.
func (s *stack) startReplicas(ctx context.Context, bin, configPath string, env []string, n int) error {
	for i := 2; i <= n; i++ {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		p, err := startProcessEnv(ctx, fmt.Sprintf("tokengate-%d", i), bin, append(slices.Clone(env), "TOKENGATE_LISTEN="+addr), "serve", "--config", configPath)
		if err != nil {
			return err
		}
		s.replicas = append(s.replicas, p)
		url := "http://" + addr
		if err := waitHealthy(ctx, p, url+"/readyz"); err != nil {
			return err
		}
		s.replicaURLs = append(s.replicaURLs, url)
	}
	return nil
}

// warmReplicas sends each extra replica the session's first /auth: it reads the session and
// the shared token from Redis, and answers from memory from then on, without rewriting the
// cookie.
func warmReplicas(ctx context.Context, st *stack, cookie string) error {
	for _, url := range st.replicaURLs {
		answer, err := probe(ctx, url+"/auth", cookie)
		if err != nil {
			return fmt.Errorf("replica %s: %w", url, err)
		}
		if len(answer.Values("Set-Cookie")) > 0 {
			return fmt.Errorf("replica %s rewrites the session cookie: not a cache hit", url)
		}
	}
	return nil
}

// withReplicas adds the target of every replica right after tokengate, when the run has
// several.
func withReplicas(st *stack, script string, targets []target) []target {
	if len(st.replicaURLs) == 0 {
		return targets
	}
	more := make([]string, len(st.replicaURLs))
	for i, u := range st.replicaURLs {
		more[i] = u + "/auth"
	}
	return slices.Insert(targets, 1, target{name: replicasName(len(more) + 1), url: st.authURL + "/auth", more: more, script: script})
}

// runTarget runs wrk against t for d: one wrk, or one per replica at once.
func runTarget(ctx context.Context, o options, t target, conns int, d time.Duration) (wrkResult, error) {
	if len(t.more) == 0 {
		return runWrk(ctx, o.wrk, t.url, t.script, o.threads, conns, d)
	}
	urls := append([]string{t.url}, t.more...)
	perConns := max(1, conns/len(urls))
	perThreads := min(max(1, o.threads/len(urls)), perConns)
	results := make([]wrkResult, len(urls))
	errs := make([]error, len(urls))
	var wg sync.WaitGroup
	for i, url := range urls {
		wg.Go(func() { results[i], errs[i] = runWrk(ctx, o.wrk, url, t.script, perThreads, perConns, d) })
	}
	wg.Wait()
	var sum wrkResult
	for i, r := range results {
		if errs[i] != nil {
			return wrkResult{}, errs[i]
		}
		sum.ReqPerSec += r.ReqPerSec
		sum.Requests += r.Requests
		sum.Non2xx += r.Non2xx
		sum.SocketErrors += r.SocketErrors
		sum.P50, sum.P99 = max(sum.P50, r.P50), max(sum.P99, r.P99)
	}
	return sum, nil
}

// cpuOf is the CPU time of every process behind t so far.
func cpuOf(t target) (time.Duration, error) {
	var total time.Duration
	for _, pid := range append([]int{t.pid}, t.morePIDs...) {
		d, err := cpuTime(pid)
		if err != nil {
			return 0, err
		}
		total += d
	}
	return total, nil
}
