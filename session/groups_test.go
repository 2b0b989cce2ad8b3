package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/secret"
)

const graphScope = "https://graph.microsoft.com/User.Read"

// fakeGraph answers MemberGroups with answer, optionally holding each call until gate closes.
type fakeGraph struct {
	mu      sync.Mutex
	tokens  []string // the Graph token of each call
	gate    chan struct{}
	started chan struct{}
	answer  func(n int) ([]string, error)
}

func newFakeGraph(answer func(n int) ([]string, error)) *fakeGraph {
	return &fakeGraph{answer: answer, started: make(chan struct{}, 100)}
}

func (g *fakeGraph) MemberGroups(_ context.Context, tok secret.String) ([]string, error) {
	g.mu.Lock()
	n := len(g.tokens)
	g.tokens = append(g.tokens, tok.Reveal())
	g.mu.Unlock()
	g.started <- struct{}{}
	if g.gate != nil {
		<-g.gate
	}
	return g.answer(n)
}

func (g *fakeGraph) Tokens() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.tokens)
}

// groupsOf answers call n with groups "g-n-0" … "g-n-(size-1)".
func groupsOf(size int) func(int) ([]string, error) {
	return func(n int) ([]string, error) {
		out := make([]string, size)
		for i := range out {
			out[i] = fmt.Sprintf("g-%d-%d", n, i)
		}
		return out, nil
	}
}

type groupsFixture struct {
	clock   *testClock
	refresh *fakeRefresher
	graph   *fakeGraph
	tokens  *TokenCache
	r       *GroupResolver
	sess    *Session
}

func newGroupsFixture(t *testing.T, graph *fakeGraph, ttl time.Duration) *groupsFixture {
	t.Helper()
	clock := newTestClock()
	f := &groupsFixture{clock: clock, refresh: newFakeRefresher(nil), graph: graph, sess: seededSession(clock)}
	f.refresh.answer = rotating(clock)
	f.tokens = newTestCache(t, f.refresh, clock, nil)
	f.r = NewGroupResolver(f.tokens, graph, graphScope, ttl, clock.Now)
	return f
}

func TestGroupsResolveAndCache(t *testing.T) {
	f := newGroupsFixture(t, newFakeGraph(groupsOf(3)), 10*time.Minute)
	groups, rotated, err := f.r.Groups(t.Context(), f.sess)
	if err != nil || !slices.Equal(groups, []string{"g-0-0", "g-0-1", "g-0-2"}) {
		t.Fatalf("Groups = %v, %v; want call 0's three groups", groups, err)
	}
	if calls := f.refresh.Calls(); len(calls) != 1 || calls[0].scope != graphScope || calls[0].rt != "rt-seed" {
		t.Errorf("refreshes = %+v; want one for %s with the session's refresh token", calls, graphScope)
	}
	if got := f.graph.Tokens(); !slices.Equal(got, []string{"at-0"}) {
		t.Errorf("Graph called with %v; want the Graph access token at-0", got)
	}
	if rotated != "rt-0" {
		t.Errorf("rotated = %q; want rt-0, the refresh token the Graph refresh returned", rotated.Reveal())
	}

	groups[0] = "mutated by the caller"
	tests := []struct {
		name        string
		advance     time.Duration
		sessionRT   secret.String
		wantGraph   int
		wantRotated secret.String
		wantFirst   string
	}{
		{name: "cached, session still behind", sessionRT: "rt-seed", wantGraph: 1, wantRotated: "rt-0", wantFirst: "g-0-0"},
		{name: "cached, session caught up", sessionRT: "rt-0", wantGraph: 1, wantFirst: "g-0-0"},
		{name: "cached, session rotated elsewhere", sessionRT: "rt-elsewhere", wantGraph: 1, wantFirst: "g-0-0"},
		{name: "past the ttl: Graph again, Graph token still cached", advance: 10 * time.Minute, sessionRT: "rt-0", wantGraph: 2, wantFirst: "g-1-0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.clock.Advance(tc.advance)
			f.sess.RefreshToken = tc.sessionRT
			groups, rotated, err := f.r.Groups(t.Context(), f.sess)
			if err != nil || len(groups) != 3 || groups[0] != tc.wantFirst {
				t.Fatalf("Groups = %v, %v; want three starting with %s", groups, err, tc.wantFirst)
			}
			if rotated != tc.wantRotated {
				t.Errorf("rotated = %q; want %q", rotated.Reveal(), tc.wantRotated.Reveal())
			}
			if got := len(f.graph.Tokens()); got != tc.wantGraph {
				t.Errorf("%d Graph calls; want %d", got, tc.wantGraph)
			}
			if got := len(f.refresh.Calls()); got != 1 {
				t.Errorf("%d refreshes; want 1 (the Graph token is cached)", got)
			}
		})
	}
}

func TestGroupsForget(t *testing.T) {
	f := newGroupsFixture(t, newFakeGraph(groupsOf(1)), time.Hour)
	if _, _, err := f.r.Groups(t.Context(), f.sess); err != nil {
		t.Fatal(err)
	}
	f.r.Forget(f.sess)
	groups, _, err := f.r.Groups(t.Context(), f.sess)
	if err != nil || !slices.Equal(groups, []string{"g-1-0"}) {
		t.Fatalf("Groups after Forget = %v, %v; want a fresh lookup", groups, err)
	}
	if got := len(f.refresh.Calls()); got != 2 {
		t.Errorf("%d refreshes; want 2: Forget drops the Graph token too", got)
	}
}

func TestGroupsForgetDuringLookup(t *testing.T) {
	graph := newFakeGraph(groupsOf(1))
	graph.gate = make(chan struct{})
	f := newGroupsFixture(t, graph, time.Hour)
	done := make(chan error)
	go func() {
		_, _, err := f.r.Groups(t.Context(), f.sess)
		done <- err
	}()
	<-graph.started
	f.r.Forget(f.sess) // sign-out while Graph is being asked
	close(graph.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	groups, _, err := f.r.Groups(t.Context(), f.sess)
	if err != nil || !slices.Equal(groups, []string{"g-1-0"}) {
		t.Errorf("Groups after a Forget during the lookup = %v, %v; want a fresh lookup, not the forgotten result", groups, err)
	}
}

func TestGroupsSharedLookup(t *testing.T) {
	graph := newFakeGraph(groupsOf(2))
	graph.gate = make(chan struct{})
	f := newGroupsFixture(t, graph, time.Hour)
	const callers = 8
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			groups, _, err := f.r.Groups(t.Context(), f.sess)
			if err == nil && len(groups) != 2 {
				err = fmt.Errorf("got %v", groups)
			}
			errs <- err
		})
	}
	<-graph.started
	// A caller that gives up does not fail the others sharing its lookup.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := f.r.Groups(ctx, f.sess); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: err = %v; want context.Canceled", err)
	}
	close(graph.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("caller: %v", err)
		}
	}
	if got := len(graph.Tokens()); got != 1 {
		t.Errorf("%d Graph calls for %d concurrent callers; want 1", got, callers)
	}
}

func TestGroupsErrors(t *testing.T) {
	tests := []struct {
		name        string
		refresh     func(int, secret.String) (idp.Token, error) // nil: rotating
		graph       func(int) ([]string, error)
		sessionID   string
		wantIs      error
		wantRefresh int // refreshes after two calls
	}{
		{name: "permission missing: Graph token dropped", graph: func(int) ([]string, error) {
			return nil, fmt.Errorf("graph: %w", idp.ErrGraphDenied)
		}, sessionID: "s1", wantIs: idp.ErrGraphDenied, wantRefresh: 2},
		{name: "Graph down: not cached", graph: func(int) ([]string, error) {
			return nil, fmt.Errorf("graph: %w", idp.ErrUnavailable)
		}, sessionID: "s1", wantIs: idp.ErrUnavailable, wantRefresh: 1},
		{name: "session over", refresh: failing(idp.ErrInvalidGrant), graph: groupsOf(1), sessionID: "s1", wantIs: idp.ErrInvalidGrant, wantRefresh: 2},
		{name: "no session id", graph: groupsOf(1), sessionID: "", wantIs: errNoID, wantRefresh: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newGroupsFixture(t, newFakeGraph(tc.graph), time.Hour)
			if tc.refresh != nil {
				f.refresh.answer = tc.refresh
			}
			f.sess.ID = tc.sessionID
			for range 2 {
				groups, rotated, err := f.r.Groups(t.Context(), f.sess)
				if !errors.Is(err, tc.wantIs) || groups != nil || rotated != "" {
					t.Fatalf("Groups = %v, %q, %v; want only an error wrapping %v", groups, rotated.Reveal(), err, tc.wantIs)
				}
				for _, s := range []string{"rt-seed", "at-0", f.sess.ID} {
					if s != "" && strings.Contains(err.Error(), s) {
						t.Errorf("error %q reveals %q", err, s)
					}
				}
			}
			if got := len(f.refresh.Calls()); got != tc.wantRefresh {
				t.Errorf("%d refreshes; want %d", got, tc.wantRefresh)
			}
		})
	}
}

func TestGroupsCacheIsBounded(t *testing.T) {
	f := newGroupsFixture(t, newFakeGraph(groupsOf(4)), time.Hour)
	f.r.maxIDs = 12 // room for two sessions of four groups (five each with the entry)
	for i := range 6 {
		s := *f.sess
		s.ID = fmt.Sprintf("session-%d", i)
		if _, _, err := f.r.Groups(t.Context(), &s); err != nil {
			t.Fatal(err)
		}
		f.r.mu.Lock()
		ids, n := f.r.ids, len(f.r.entries)
		f.r.mu.Unlock()
		if ids > 12 || n > 2 || n == 0 {
			t.Fatalf("after %d sessions: %d ids in %d entries; want at most 12 in 1–2", i+1, ids, n)
		}
	}
	last := *f.sess
	last.ID = "session-5"
	before := len(f.graph.Tokens())
	if _, _, err := f.r.Groups(t.Context(), &last); err != nil || len(f.graph.Tokens()) != before {
		t.Errorf("newest session not served from the cache (err %v)", err)
	}
}
