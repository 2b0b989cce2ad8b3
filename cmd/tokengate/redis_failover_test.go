package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/redistest"
	"github.com/tokengate/tokengate/session"
)

// failoverRecoveryBound is how long after the kill of a master a request that needs Redis
// may keep failing: the down-after or node timeout (1s), the election and promotion (about
// 1s), and go-redis finding the new master on its next call, with room for a loaded machine.
const failoverRecoveryBound = 15 * time.Second

// disruption is what happens to the store while /auth is under load.
type disruption struct {
	// needRedis are the statuses a request that must read Redis may get meanwhile.
	needRedis []int
	// replicate makes every write so far survive the disruption (WAIT 1 on the masters).
	replicate func()
	// start disrupts the store, knowing the slot of the session whose refresh lock is held
	// (-1 without a Cluster); the wait it returns ends when the topology reports recovery.
	start func(lockSlot int) (wait func())
	// heal, when set, brings the disrupted node back as a replica before the final checks,
	// as Kubernetes restarts a pod: refreshes wait for a replica (redis.lockReplicas).
	heal func()
}

// Kill the Sentinel-managed master under steady /auth load.
func TestRedisSentinelFailoverUnderLoad(t *testing.T) {
	c := newRedisClusterOn(t, 2, true, nil, onSentinel)
	c.underLoad(t, disruption{
		needRedis: []int{http.StatusOK, http.StatusServiceUnavailable},
		replicate: c.sentinel.Replicate,
		start: func(int) func() {
			old := c.sentinel.Master()
			old.Stop()
			return func() { c.sentinel.WaitFailover(old) }
		},
		heal: func() { c.sentinel.Rejoin(c.sentinel.Servers[0]) },
	})
}

// Kill the Cluster master that serves a session's slot under steady /auth load.
func TestRedisClusterFailoverUnderLoad(t *testing.T) {
	c := newRedisClusterOn(t, 2, true, nil, onCluster)
	var old *redistest.Server
	c.underLoad(t, disruption{
		needRedis: []int{http.StatusOK, http.StatusServiceUnavailable},
		replicate: c.cluster.Replicate,
		start: func(slot int) func() {
			old = c.cluster.MasterOf(slot)
			old.Stop()
			return func() { c.cluster.WaitFailover(old, slot) }
		},
		heal: func() { c.cluster.Rejoin(old) },
	})
}

// Move a session's slot to another master and back, several times, under steady /auth
// load: Redis stays up, so even requests that need it must succeed (MOVED and ASK are the
// client's business).
func TestRedisClusterReshardUnderLoad(t *testing.T) {
	c := newRedisClusterOn(t, 2, true, nil, onCluster)
	c.underLoad(t, disruption{
		needRedis: []int{http.StatusOK},
		replicate: c.cluster.Replicate,
		start: func(slot int) func() {
			home := c.cluster.MasterOf(slot)
			away := c.cluster.MasterOf((slot + 8192) % 16384)
			if away == home {
				t.Fatalf("slots %d and %d on one master; the test wants two", slot, (slot+8192)%16384)
			}
			for range 5 {
				c.cluster.MoveSlot(slot, away)
				c.cluster.MoveSlot(slot, home)
			}
			return func() {}
		},
	})
}

// underLoad runs d under steady /auth load on two replicas and a third, cold one, and
// asserts the promises of a store disruption. Sessions every replica holds in memory keep
// being served (200, never 503 or 401). A replica that has to read a session from Redis
// answers one of d.needRedis, never 401, and 200 within failoverRecoveryBound. No session
// written before (and acknowledged by WAIT) is lost. A refresh lock taken before still holds
// afterwards. The next refresh of every session happens once, with no refresh token spent
// twice.
func (c *redisCluster) underLoad(t *testing.T, d disruption) {
	warm := c.signInMany(4)  // served by every replica before the disruption
	fresh := c.signInMany(4) // never seen by the cold replica before it
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
	seen, err := c.replicas[0].app.store.shared.Get(t.Context(), lockHolder, c.cfg.Provider.ResourceScope)
	if err != nil {
		t.Fatalf("read the shared token before the disruption: %v", err)
	}
	flight, err := c.replicas[0].app.store.shared.Lock(t.Context(), lockHolder, seen)
	if err != nil || flight == nil {
		t.Fatalf("start a refresh flight before the disruption = %v, %v; want one", flight, err)
	}
	released := false
	unlock := func() {
		if !released {
			released = true
			// No refresh token was presented: the flight ends as one certainly not spent.
			flight.Release(context.WithoutCancel(t.Context()), fmt.Errorf("test: no refresh: %w", idp.ErrNotSent))
		}
	}
	defer unlock()
	lockSlot := c.lockSlot()
	d.replicate()

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

	began := time.Now()
	wait := d.start(lockSlot)
	// From now on, the cold replica is asked for sessions it never read: each answer needs
	// Redis.
	var needRedis loadTally
	probe := make(chan error, 1)
	go func() { probe <- c.probeUntilOK(cold, fresh, began, &needRedis) }()
	wait()
	settled := time.Since(began)
	if err := <-probe; err != nil {
		logs := c.logs.String()
		t.Fatalf("%v\nend of the replicas' log:\n%s", err, logs[max(0, len(logs)-3000):])
	}
	// Fully recovered: every replica reaches the slot of the locked session again.
	for i := range c.replicas {
		c.waitStoreAnswers(t, i, lockHolder, began)
	}
	recovered := time.Since(began)
	stop.Store(true)
	wg.Wait()
	t.Logf("the topology settled %s after the disruption began; every replica reads the disrupted slot again after %s", settled.Round(10*time.Millisecond), recovered.Round(10*time.Millisecond))
	t.Logf("answers from memory meanwhile: %s; answers that needed Redis: %s", &tally, &needRedis)
	if bad := tally.only(http.StatusOK); len(bad) > 0 {
		t.Errorf("sessions held in memory got %v (status: count; 0 is a socket error); want only 200", bad)
	}
	if bad := needRedis.only(d.needRedis...); len(bad) > 0 {
		t.Errorf("requests that needed Redis got %v; want only %v, never 401", bad, d.needRedis)
	}

	if d.heal != nil {
		d.heal()
	}
	if other, err := c.replicas[1].app.store.shared.Lock(t.Context(), lockHolder, seen); err != nil || other != nil {
		t.Errorf("another replica's flight afterwards = %v, %v; want none: the first flight was kept", other, err)
	}
	unlock()
	c.wantNoSessionLost(t, append(warm, fresh...))
}

// wantNoSessionLost reads every session on every replica from Redis, then refreshes each
// once, concurrently on all replicas, with no refresh token spent twice.
func (c *redisCluster) wantNoSessionLost(t *testing.T, sessions [][]*http.Cookie) {
	t.Helper()
	c.clock.Advance(testCacheTTL) // every copy in memory is stale: all is read from Redis
	lost := 0
	for _, cookies := range sessions {
		for i := range c.replicas {
			if page := c.authWith(i, cookies); page.Status != http.StatusOK {
				lost++
				t.Errorf("afterwards, replica %d = %d %s; want 200", i, page.Status, page.Body)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d session reads failed afterwards; want 0 sessions lost", lost)
	}
	before := c.idp.TokenCalls("refresh_token")
	c.clock.Advance(testTokenLifetime)
	c.hammerAll(t, sessions)
	if got := c.idp.TokenCalls("refresh_token") - before; got != len(sessions) {
		t.Errorf("refreshes afterwards = %d; want one per session, %d", got, len(sessions))
	}
	if got := c.idp.RefreshTokenReuses(); got != 0 {
		t.Errorf("the provider saw %d refresh tokens spent twice; want 0", got)
	}
}

// waitStoreAnswers waits until replica i reads sess's keys from Redis without error,
// failing the test failoverRecoveryBound after since.
func (c *redisCluster) waitStoreAnswers(t *testing.T, i int, sess *session.Session, since time.Time) {
	t.Helper()
	for {
		_, err := c.replicas[i].app.store.shared.Get(t.Context(), sess, c.cfg.Provider.ResourceScope)
		if err == nil {
			return
		}
		if time.Since(since) > failoverRecoveryBound {
			t.Fatalf("replica %d still cannot read the session from Redis %s after the disruption: %v", i, failoverRecoveryBound, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lockSlot is the hash slot of the one refresh lock held now, -1 when not on a Cluster.
func (c *redisCluster) lockSlot() int {
	c.t.Helper()
	if c.cluster == nil {
		return -1
	}
	for _, k := range c.cluster.Keys() {
		if strings.HasSuffix(k, ":lock") {
			return c.cluster.Slot(k)
		}
	}
	c.t.Fatal("no refresh lock key in the cluster")
	return -1
}
