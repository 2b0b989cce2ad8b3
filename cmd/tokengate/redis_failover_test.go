package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/browser"
	"github.com/tokengate/tokengate/session"
)

// failoverRecoveryBound is how long after the kill of the master a request that needs Redis
// may keep failing: Sentinel's down-after (1s), the election and promotion (about 1s), and
// go-redis asking the Sentinels again on its next dial, with room for a loaded machine.
const failoverRecoveryBound = 15 * time.Second

// loadTally counts the answers of a load run by status; transport errors count as 0.
type loadTally struct {
	mu     sync.Mutex
	counts map[int]int
}

func (l *loadTally) add(status int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.counts = map[int]int{}
	}
	l.counts[status]++
}

func (l *loadTally) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprint(l.counts)
}

// only reports the statuses outside allowed, with their counts.
func (l *loadTally) only(allowed ...int) map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	bad := map[int]int{}
	for s, n := range l.counts {
		ok := false
		for _, a := range allowed {
			ok = ok || s == a
		}
		if !ok {
			bad[s] = n
		}
	}
	return bad
}

// Kill the Sentinel-managed master under steady /auth load. Sessions every replica holds in
// memory keep being served (200, never 503 or 401); a replica that has to read a session
// from Redis may answer 503 until the replica is promoted, never 401; no session written
// before the kill (and acknowledged by WAIT) is lost; a refresh lock taken before the kill
// still holds on the new master; the next refresh of every session happens once, with no
// refresh token spent twice.
func TestRedisSentinelFailoverUnderLoad(t *testing.T) {
	c := newRedisClusterOn(t, 2, true, nil, true)
	warm := c.signInMany(4)  // served by every replica before the kill
	fresh := c.signInMany(4) // never seen by the cold replica before the kill
	for _, cookies := range warm {
		for i := range c.replicas {
			if page := c.authWith(i, cookies); page.Status != http.StatusOK {
				t.Fatalf("warm-up on replica %d = %d; want 200", i, page.Status)
			}
		}
	}
	cold := len(c.replicas)
	c.addReplica()
	for _, cookies := range warm {
		c.authWith(cold, cookies)
	}
	lockHolder := c.sessionOf(0, warm[0])
	unlock, lease, err := c.replicas[0].app.store.shared.Lock(t.Context(), lockHolder)
	if err != nil || lease == 0 {
		t.Fatalf("take the refresh lock before the kill = %v, %v; want it", lease, err)
	}
	defer unlock()
	c.sentinel.Replicate() // what was acknowledged with WAIT 1 survives the kill

	var stop atomic.Bool
	var tally loadTally
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for n := g; !stop.Load(); n++ {
				status, _ := c.tryAuth(n%len(c.replicas), warm[n%len(warm)])
				tally.add(status)
			}
		})
	}
	// Every few requests the sessions in memory go stale, so replicas read Redis whenever
	// it answers and fall back to their copy when it does not.
	wg.Go(func() {
		for !stop.Load() {
			c.clock.Advance(testCacheTTL / 10)
			time.Sleep(100 * time.Millisecond)
		}
	})

	old := c.sentinel.Master()
	killed := time.Now()
	old.Stop()
	// From the kill on, the cold replica is asked for sessions it never read: each answer
	// needs Redis. It may answer 503 until the promotion, then must answer 200.
	var needRedis loadTally
	var recovered time.Duration
	probe := make(chan error, 1)
	go func() { probe <- c.probeUntilOK(cold, fresh, killed, &needRedis) }()
	c.sentinel.WaitFailover(old)
	promoted := time.Since(killed)
	if err := <-probe; err != nil {
		t.Fatal(err)
	}
	recovered = time.Since(killed)
	stop.Store(true)
	wg.Wait()
	t.Logf("sentinel promoted the replica %s after the kill; Redis-bound requests succeed again after %s", promoted.Round(10*time.Millisecond), recovered.Round(10*time.Millisecond))
	t.Logf("answers from memory during the failover: %s; answers that needed Redis: %s", &tally, &needRedis)
	if bad := tally.only(http.StatusOK); len(bad) > 0 {
		t.Errorf("sessions held in memory got %v (status: count; 0 is a socket error); want only 200", bad)
	}
	if bad := needRedis.only(http.StatusOK, http.StatusServiceUnavailable); len(bad) > 0 {
		t.Errorf("requests that needed Redis got %v; want only 200 or 503, never 401", bad)
	}

	if _, lease, err := c.replicas[1].app.store.shared.Lock(t.Context(), lockHolder); err != nil || lease != 0 {
		t.Errorf("another replica's lock on the new master = %v, %v; want held (lease 0): the lock was replicated", lease, err)
	}
	unlock()

	c.clock.Advance(testCacheTTL) // every copy in memory is stale: all is read from the new master
	lost := 0
	for _, cookies := range append(warm, fresh...) {
		for i := range c.replicas {
			if page := c.authWith(i, cookies); page.Status != http.StatusOK {
				lost++
				t.Errorf("after the failover, replica %d = %d %s; want 200", i, page.Status, page.Body)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d session reads failed after the failover; want 0 sessions lost", lost)
	}

	before := c.idp.TokenCalls("refresh_token")
	c.clock.Advance(testTokenLifetime)
	c.hammerAll(t, append(warm, fresh...))
	if got := c.idp.TokenCalls("refresh_token") - before; got != len(warm)+len(fresh) {
		t.Errorf("refreshes after the failover = %d; want one per session, %d", got, len(warm)+len(fresh))
	}
	if got := c.idp.RefreshTokenReuses(); got != 0 {
		t.Errorf("the provider saw %d refresh tokens spent twice; want 0", got)
	}
}

// probeUntilOK asks replica i for each session until it answers 200, counting the answers.
// It gives up failoverRecoveryBound after since.
func (c *redisCluster) probeUntilOK(i int, sessions [][]*http.Cookie, since time.Time, tally *loadTally) error {
	for _, cookies := range sessions {
		for {
			status, _ := c.tryAuth(i, cookies)
			tally.add(status)
			if status == http.StatusOK {
				break
			}
			if time.Since(since) > failoverRecoveryBound {
				return fmt.Errorf("replica %d still answers %d (%s) after the kill; want 200 within %s", i, status, tally, failoverRecoveryBound)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// signInMany signs in n sessions of alice, each in its own browser, and returns their cookies.
func (c *redisCluster) signInMany(n int) [][]*http.Cookie {
	c.t.Helper()
	out := make([][]*http.Cookie, n)
	saved := c.browser
	defer func() { c.browser = saved }()
	for i := range out {
		c.browser = browser.New(c.replicas[0].srv.Client().Transport)
		c.signIn("alice")
		out[i] = c.cookies()
	}
	return out
}

// sessionOf opens the session cookies carry as replica i sees it.
func (c *redisCluster) sessionOf(i int, cookies []*http.Cookie) *session.Session {
	c.t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	sess, err := c.replicas[i].app.store.sessions.Load(req.Context(), req)
	if err != nil {
		c.t.Fatalf("load session: %v", err)
	}
	return sess
}

// tryAuth is authWith for goroutines: it returns the status, or 0 and the transport error.
func (c *redisCluster) tryAuth(i int, cookies []*http.Cookie) (int, error) {
	req, err := http.NewRequest(http.MethodGet, c.replicas[i].srv.URL+"/auth", nil)
	if err != nil {
		return 0, err
	}
	req.Header = http.Header{
		"X-Forwarded-Method": {"GET"},
		"X-Forwarded-Proto":  {"https"},
		"X-Forwarded-Host":   {strings.TrimPrefix(c.dashboard.URL, "https://")},
		"X-Forwarded-Uri":    {"/api/v1/namespaces"},
		"Accept":             {"application/json"},
	}
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err := c.replicas[i].srv.Client().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// hammerAll sends /auth for every session to every replica at once and fails on any answer
// but 200.
func (c *redisCluster) hammerAll(t *testing.T, sessions [][]*http.Cookie) {
	t.Helper()
	var tally loadTally
	var wg sync.WaitGroup
	for _, cookies := range sessions {
		for i := range c.replicas {
			for range 2 {
				wg.Go(func() {
					status, _ := c.tryAuth(i, cookies)
					tally.add(status)
				})
			}
		}
	}
	wg.Wait()
	if bad := tally.only(http.StatusOK); len(bad) > 0 {
		t.Errorf("concurrent /auth got %v; want only 200", bad)
	}
}
