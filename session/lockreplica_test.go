package session

import (
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/tokengate/tokengate/internal/redistest"
)

// A refresh flight must survive a Sentinel failover: once one replica of tokengate holds it,
// no other may start a flight for the same refresh token on the promoted master. The master
// is killed right after the flight began; in the lagging rows the Redis replica is paused
// (SIGSTOP) and its link cut first, so the flight cannot have reached it. With reuse detection the provider
// would revoke the sign-in at the second redemption.
func TestRefreshLockSurvivesSentinelFailover(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		lockReplicas int
		lagging      bool
		// wantFirst: the first replica got its flight; wantSecond: the second got one after
		// the failover. Both at once is a refresh token spent twice.
		wantFirst, wantSecond bool
		// wantSecondRefused: the second replica's refresh was postponed, its lock on no
		// replica (the promoted master has none until the old master returns as one).
		wantSecondRefused bool
	}{
		{name: "replica in sync: the flight is on the new master", lockReplicas: 1, wantFirst: true},
		{name: "replica lagging: no flight until a replica holds it", lockReplicas: 1, lagging: true, wantSecondRefused: true},
		// What lockReplicas prevents: the flight existed only on the dead master.
		{name: "replica lagging, no lockReplicas: two flights", lockReplicas: 0, lagging: true, wantFirst: true, wantSecond: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sen := redistest.StartSentinel(t)
			clock := newTestClock()
			a, b := newSentinelStore(t, sen, clock, tc.lockReplicas), newSentinelStore(t, sen, clock, tc.lockReplicas)
			sess := redisSession(t, clock.Now())
			saveTo(t, a, sess)
			sen.Replicate() // the session itself survives; only the flight is at stake
			seen, err := a.Get(t.Context(), sess, testScope)
			if err != nil {
				t.Fatalf("Get on a: %v", err)
			}

			old, replica := sen.Master(), sen.Servers[1]
			if tc.lagging {
				// Paused, the replica would still find the master's last writes in its socket
				// buffer on resuming; with its link cut as well, and no way to reconnect before
				// the master dies, it never sees them.
				replica.Pause()
				if _, err := old.Do("CLIENT", "KILL", "TYPE", "replica"); err != nil {
					t.Fatalf("cut the replication link: %v", err)
				}
			}
			first, err := a.Lock(t.Context(), sess, seen)
			switch {
			case tc.wantFirst && (err != nil || first == nil):
				t.Fatalf("Lock on a = %v, %v; want a flight", first, err)
			case !tc.wantFirst && (first != nil || !errors.Is(err, ErrStoreUnavailable) || !errors.Is(err, errLockNotReplicated)):
				t.Fatalf("Lock on a with the replica lagging = %v, %v; want no flight and the store unavailable", first, err)
			}
			old.Stop()
			if tc.lagging {
				replica.Resume()
			}
			sen.WaitFailover(old)

			seen = readAfterFailover(t, b, sess)
			second, err := b.Lock(t.Context(), sess, seen)
			switch {
			case tc.wantSecondRefused && (second != nil || !errors.Is(err, errLockNotReplicated)):
				t.Errorf("after the failover, Lock on b = %v, %v; want it postponed: the promoted master has no replica yet", second, err)
			case !tc.wantSecondRefused && err != nil:
				t.Errorf("after the failover, Lock on b: %v", err)
			case !tc.wantSecondRefused && (second != nil) != tc.wantSecond:
				t.Errorf("after the failover, b got a flight = %v; want %v (a got one: %v)", second != nil, tc.wantSecond, first != nil)
			}
		})
	}
}

// readAfterFailover waits until s reads sess again, and returns what it read: go-redis
// learns of the promoted master from the Sentinels on its own time.
func readAfterFailover(t *testing.T, s *RedisStore, sess *Session) SharedToken {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		seen, err := s.Get(t.Context(), sess, testScope)
		if err == nil {
			return seen
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store never reached the promoted master: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // polling another process's failover
	}
}

// newSentinelStore returns a store on the Sentinel topology with its own failover client, as
// one tokengate replica has, with reuse detection on.
func newSentinelStore(t testing.TB, sen *redistest.Sentinel, clock *testClock, lockReplicas int) *RedisStore {
	t.Helper()
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{
		MasterName: redistest.MasterName, Addrs: sen.Addrs(),
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second, ContextTimeoutEnabled: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	t.Cleanup(func() { rdb.Close() })
	s, err := NewRedisStore(rdb, newTestCodec(t, clock), RedisOptions{
		Cookie: CookieOptions{Domain: ".example.com"}, Timeout: 400 * time.Millisecond,
		CacheTTL: testCacheTTL, LockTTL: 5 * time.Second, Now: clock.Now,
		ReuseDetection: true, LockReplicas: lockReplicas,
	})
	if err != nil {
		t.Fatalf("NewRedisStore: %v", err)
	}
	return s
}
