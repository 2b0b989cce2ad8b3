package session

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/redistest"
)

// slotRecorder is a go-redis hook that records the hash slots every atomic unit touches: a
// MULTI/EXEC pipeline, a script, a multi-key command. The ClusterClient would split a
// transaction over several slots into one MULTI/EXEC per slot, silently not atomic; this
// catches it.
type slotRecorder struct {
	cluster *redistest.Cluster
	mu      sync.Mutex
	units   map[string]map[int]bool // "multi/exec: set,set" -> slots
}

func (r *slotRecorder) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *slotRecorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if name := cmd.Name(); name == "mget" || name == "evalsha" || name == "eval" {
			r.record(name, []redis.Cmder{cmd})
		}
		return next(ctx, cmd)
	}
}

func (r *slotRecorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			if c.Name() == "multi" || c.Name() == "exec" {
				r.record("multi/exec", cmds)
				break
			}
		}
		return next(ctx, cmds)
	}
}

// record notes the slots of the keys of cmds under one unit named after them.
func (r *slotRecorder) record(kind string, cmds []redis.Cmder) {
	slots := map[int]bool{}
	var names []string
	for _, c := range cmds {
		names = append(names, c.Name())
		for _, k := range cmdKeys(c) {
			slots[r.cluster.Slot(k)] = true
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.units == nil {
		r.units = map[string]map[int]bool{}
	}
	unit := kind + ": " + strings.Join(names, ",")
	if r.units[unit] == nil {
		r.units[unit] = map[int]bool{}
	}
	for s := range slots {
		r.units[unit][s] = true
	}
	if len(slots) > 1 {
		r.units[unit][-1] = true // marks a unit that spanned slots in one call
	}
}

// cmdKeys returns the key arguments of the commands the store sends atomically.
func cmdKeys(c redis.Cmder) []string {
	args := c.Args()
	str := func(a any) string { s, _ := a.(string); return s }
	switch c.Name() {
	case "multi", "exec", "ping":
		return nil
	case "mget":
		keys := make([]string, 0, len(args)-1)
		for _, a := range args[1:] {
			keys = append(keys, str(a))
		}
		return keys
	case "evalsha", "eval":
		n, _ := strconv.Atoi(str(args[2]))
		if n == 0 {
			n, _ = args[2].(int)
		}
		keys := make([]string, 0, n)
		for _, a := range args[3 : 3+n] {
			keys = append(keys, str(a))
		}
		return keys
	}
	if len(args) < 2 {
		return nil
	}
	return []string{str(args[1])}
}

// aclUser signs the stores in as the ACL user the README recommends.
var aclUser = redistest.ACLRules("tokengate", "test-password-7f3a")

// newClusterStore returns a store on the cluster with its own cluster client, as one
// replica would have, signed in as aclUser, recording the slots of its atomic units in rec.
func newClusterStore(t *testing.T, cl *redistest.Cluster, tlsFiles *redistest.TLS, clock *testClock, rec *slotRecorder) *RedisStore {
	t.Helper()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{
		TLSConfig: tlsFiles.ClientConfig(),
		Username:  aclUser[0], Password: strings.TrimPrefix(aclUser[2], ">"),
		Addrs: cl.Addrs(), DialTimeout: time.Second, ReadTimeout: time.Second,
		WriteTimeout: time.Second, ContextTimeoutEnabled: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	rdb.AddHook(rec)
	// WATCH ... MULTI/EXEC runs on the client of the node that owns the slot, not through
	// the cluster client's hooks.
	rdb.OnNewNode(func(node *redis.Client) { node.AddHook(rec) })
	t.Cleanup(func() { rdb.Close() })
	s, err := NewRedisStore(rdb, newTestCodec(t, clock), RedisOptions{
		Cookie: CookieOptions{Domain: ".example.com"}, Timeout: time.Second,
		CacheTTL: testCacheTTL, LockTTL: 5 * time.Second, Now: clock.Now,
	})
	if err != nil {
		t.Fatalf("NewRedisStore: %v", err)
	}
	return s
}

// The Redis store on a real Cluster (three masters, three replicas) over TLS, signed in as
// an ACL user confined to the tokengate: prefix: sessions, shared tokens with rotation, the refresh
// lock, sign-out, revocation by sid and the active-sessions count all work across two
// replicas, and every atomic unit the store sends touches one hash slot.
func TestRedisStoreOnCluster(t *testing.T) {
	tlsFiles := redistest.NewTLS(t)
	cl := redistest.StartClusterTLS(t, tlsFiles)
	cl.SetUser(aclUser...)
	clock := newTestClock()
	rec := &slotRecorder{cluster: cl}
	a, b := newClusterStore(t, cl, tlsFiles, clock, rec), newClusterStore(t, cl, tlsFiles, clock, rec)
	sess := redisSession(t, clock.Now())
	cookies := saveTo(t, a, sess)
	other := redisSession(t, clock.Now()) // same sid, another slot (almost surely)
	saveTo(t, a, other)

	t.Run("session read on another replica", func(t *testing.T) {
		if _, err := b.Load(t.Context(), requestWith(cookies...)); err != nil {
			t.Fatalf("Load on b: %v", err)
		}
	})
	t.Run("refresh flight: only one replica at a time", func(t *testing.T) {
		seen, err := a.Get(t.Context(), sess, testScope)
		if err != nil {
			t.Fatalf("Get on a: %v", err)
		}
		flight, err := a.Lock(t.Context(), sess, seen)
		if err != nil || flight == nil {
			t.Fatalf("Lock on a = %v, %v; want a flight", flight, err)
		}
		if other, err := b.Lock(t.Context(), sess, seen); err != nil || other != nil {
			t.Fatalf("Lock on b while a's flight is under way = %v, %v; want none", other, err)
		}
		flight.Release(t.Context(), errors.New("test: no refresh"))
		again, err := b.Lock(t.Context(), sess, seen)
		if err != nil || again == nil {
			t.Fatalf("Lock on b after a's release = %v, %v; want a flight", again, err)
		}
		// The rotated refresh token and the new access token are stored by one script.
		tok := idp.Token{AccessToken: "at-1", RefreshToken: "rt-rotated", Expiry: clock.Now().Add(time.Hour)}
		if err := again.Commit(t.Context(), testScope, tok); err != nil {
			t.Fatalf("Commit on b: %v", err)
		}
		got, err := a.Get(t.Context(), sess, testScope)
		if err != nil || got.Token.AccessToken != "at-1" || got.RefreshToken != "rt-rotated" {
			t.Fatalf("Get on a = %q, %q, %v; want at-1 and rt-rotated", got.Token.AccessToken, got.RefreshToken, err)
		}
	})
	t.Run("active sessions", func(t *testing.T) {
		if n, err := b.ActiveSessions(t.Context()); err != nil || n != 2 {
			t.Fatalf("ActiveSessions = %d, %v; want 2", n, err)
		}
	})
	t.Run("revoke by sid across slots", func(t *testing.T) {
		if n, err := b.RevokeSID(t.Context(), sess.SID); err != nil || n != 2 {
			t.Fatalf("RevokeSID = %d, %v; want 2", n, err)
		}
		clock.Advance(testCacheTTL)
		if _, err := a.Load(t.Context(), requestWith(cookies...)); err == nil {
			t.Fatal("Load after RevokeSID succeeded; want the session ended")
		}
	})
	t.Run("the ACL user reaches nothing outside its prefix", func(t *testing.T) {
		err := a.rdb.Set(t.Context(), "other-app:secret", "x", 0).Err()
		if err == nil || !strings.Contains(err.Error(), "NOPERM") {
			t.Errorf("SET outside the prefix = %v; want NOPERM", err)
		}
		err = a.rdb.FlushAll(t.Context()).Err()
		if err == nil || !strings.Contains(err.Error(), "NOPERM") {
			t.Errorf("FLUSHALL = %v; want NOPERM", err)
		}
	})
	t.Run("every atomic unit in one slot", func(t *testing.T) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for unit, slots := range rec.units {
			if slots[-1] {
				t.Errorf("%s touched %d slots in one call; want 1", unit, len(slots)-1)
			}
		}
		for _, want := range []string{"multi/exec", "mget", "evalsha"} {
			found := false
			for unit := range rec.units {
				found = found || strings.HasPrefix(unit, want)
			}
			if !found {
				t.Errorf("no %s was recorded; the test no longer sees the store's atomic units", want)
			}
		}
	})
}
