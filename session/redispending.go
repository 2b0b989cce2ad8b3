package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// pendingResults holds refresh results this replica obtained but could not store in Redis
// yet: the provider may have rotated the refresh token, so the result is the only copy of
// the new one. The flight recorded in Redis keeps every other replica from spending the old
// token meanwhile; the next read of the session here stores the result first.
type pendingResults struct {
	mu  sync.Mutex
	max int
	m   map[string]*pendingResult // by session id
}

func newPendingResults(max int) *pendingResults {
	return &pendingResults{max: max, m: make(map[string]*pendingResult)}
}

// put keeps p, unless max results are already pending: then p is lost, which the flight
// recorded in Redis turns into the end of that session, never into a reuse.
func (p *pendingResults) put(r *pendingResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.m[r.id]; ok || len(p.m) < p.max {
		p.m[r.id] = r
	}
}

func (p *pendingResults) get(id string) *pendingResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[id]
}

// drop forgets id's result if it is still r.
func (p *pendingResults) drop(id string, r *pendingResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m[id] == r {
		delete(p.m, id)
	}
}

// flushPending stores id's pending result, if any. It fails only when Redis is still
// unreachable; a result fenced or for an ended session is dropped.
func (s *RedisStore) flushPending(ctx context.Context, id string) error {
	r := s.pending.get(id)
	if r == nil {
		return nil
	}
	err := s.commit(ctx, r)
	if errors.Is(err, ErrStoreUnavailable) {
		return fmt.Errorf("store a pending refresh result: %w", err)
	}
	s.pending.drop(id, r)
	return nil
}
