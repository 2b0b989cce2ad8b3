package session

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/redistest"
)

// Two tabs of one user sign in at once, one through each replica: each gets its own
// session, both open on both replicas, each refreshes once with its own refresh token (the
// provider sees no reuse), and signing one tab out leaves the other signed in.
func TestTwoTabsSignInOnTwoReplicas(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	r := newReuseIdP(t, clock)
	replicas := []replica{newReplica(t, srv, clock, r, 5*time.Second), newReplica(t, srv, clock, r, 5*time.Second)}
	sessions := make([]*Session, 2)
	cookies := make([][]*http.Cookie, 2)
	var wg sync.WaitGroup
	for i, rep := range replicas {
		wg.Go(func() { sessions[i], cookies[i] = signedInAt(t, rep, clock, r) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if sessions[0].ID == sessions[1].ID {
		t.Fatal("two sign-ins share one session id")
	}
	for i := range sessions {
		for j, rep := range replicas {
			got, err := rep.store.Load(t.Context(), requestWith(cookies[i]...))
			if err != nil || got.ID != sessions[i].ID {
				t.Fatalf("tab %d on replica %d: Load = %v; want its own session", i, j, err)
			}
		}
	}
	clock.Advance(time.Hour) // both access tokens expired: each tab refreshes on the other replica
	for i := range sessions {
		if _, err := replicas[1-i].cache.Get(t.Context(), sessions[i], aksScope); err != nil {
			t.Fatalf("tab %d refresh on replica %d: %v", i, 1-i, err)
		}
	}
	wantNoReuse(t, r, 2)

	replicas[0].store.Clear(httptest.NewRecorder(), requestWith(cookies[0]...))
	clock.Advance(testCacheTTL)
	if _, err := replicas[1].store.Load(t.Context(), requestWith(cookies[0]...)); err == nil {
		t.Error("the signed-out tab still opens on the other replica")
	}
	if _, err := replicas[1].store.Load(t.Context(), requestWith(cookies[1]...)); err != nil {
		t.Errorf("the other tab was signed out too: %v", err)
	}
}
