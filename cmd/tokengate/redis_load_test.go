package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/browser"
	"github.com/tokengate/tokengate/session"
)

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
