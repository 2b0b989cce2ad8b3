package session

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/internal/redistest"
)

// getGate counts the session reads (the bounded read script, EVALSHA; a NOSCRIPT answer's
// EVAL retry is the same read) and holds the first one until released.
type getGate struct {
	gets    atomic.Int32
	started chan struct{}
	release chan struct{}
}

func (g *getGate) DialHook(next redis.DialHook) redis.DialHook { return next }

func (g *getGate) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "evalsha" && g.gets.Add(1) == 1 {
			close(g.started)
			<-g.release
		}
		return next(ctx, cmd)
	}
}

func (g *getGate) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

var _ redis.Hook = (*getGate)(nil)

// gatedReader saves a session through one store and returns a second store, as another
// replica, whose Redis reads of it wait on gate.
func gatedReader(t *testing.T) (*Session, []*http.Cookie, *RedisStore, *getGate) {
	t.Helper()
	srv := redistest.Start(t)
	clock := newTestClock()
	sess := redisSession(t, clock.Now())
	cookies := saveTo(t, newRedisStore(t, srv, clock), sess)
	reader := newRedisStore(t, srv, clock)
	gate := &getGate{started: make(chan struct{}), release: make(chan struct{})}
	reader.rdb.AddHook(gate)
	return sess, cookies, reader, gate
}

// TestRedisStoreSharedRead: sessions whose copy expired under load are read from Redis once,
// whether the other callers join the read in flight or arrive just after it stored the copy.
func TestRedisStoreSharedRead(t *testing.T) {
	sess, cookies, reader, gate := gatedReader(t)
	const callers = 8
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			got, err := reader.Load(t.Context(), requestWith(cookies...))
			if err == nil && got.ID != sess.ID {
				t.Errorf("Load returned session %q; want %q", got.ID, sess.ID)
			}
			errs <- err
		})
	}
	waitStarted(t, gate)
	// Let the other callers pile up on the read; they pass with any scheduling.
	time.Sleep(50 * time.Millisecond)
	close(gate.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Load: %v", err)
		}
	}
	if n := gate.gets.Load(); n != 1 {
		t.Errorf("%d Redis reads for %d concurrent Loads of one session; want 1", n, callers)
	}
}

// TestRedisStoreReadGivesUp: a caller whose context ends stops waiting on the shared read
// with ErrStoreUnavailable, and the read still completes for the others.
func TestRedisStoreReadGivesUp(t *testing.T) {
	_, cookies, reader, gate := gatedReader(t)
	done := make(chan error, 1)
	go func() {
		_, err := reader.Load(t.Context(), requestWith(cookies...))
		done <- err
	}()
	waitStarted(t, gate)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := reader.Load(ctx, requestWith(cookies...)); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("cancelled Load: err = %v; want ErrStoreUnavailable", err)
	}
	close(gate.release)
	if err := <-done; err != nil {
		t.Errorf("Load sharing the read: %v", err)
	}
}

// waitStarted waits, bounded, for the first read to reach Redis.
func waitStarted(t *testing.T, g *getGate) {
	t.Helper()
	select {
	case <-g.started:
	case <-time.After(10 * time.Second):
		t.Fatal("no session read reached Redis within 10s")
	}
}
