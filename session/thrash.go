package session

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/dgraph-io/ristretto/v2/z"
)

// thrash notices a token cache too small for its working set: tokens dropped while still
// valid (evicted for room, or refused admission) and then asked for again, each a call to
// Redis or the identity provider that a larger cache would have saved. It remembers the
// dropped keys by hash, bounded, and warns at most once per warnEvery with the size to set.
type thrash struct {
	now      func() time.Time
	logger   *slog.Logger
	maxBytes int64

	evictions, rejections, refetches atomic.Int64
	droppedBytes                     atomic.Int64 // cost of every dropped entry, for the mean
	lastWarn                         atomic.Int64 // Unix nanoseconds

	mu      sync.Mutex
	dropped map[uint64]int64 // key hash → token expiry, Unix nanoseconds
	limit   int
}

// warnEvery spaces the thrash warnings: one line an operator reads, not one per request.
const warnEvery = 10 * time.Minute

// assumedEntryBytes sizes the memory of dropped keys before any entry was seen.
const assumedEntryBytes = 1300

func newThrash(maxBytes int64, now func() time.Time, logger *slog.Logger) *thrash {
	// Twice the entries the cache holds: enough to see a working set up to three times the
	// cache, at 16 bytes (plus map overhead) per key.
	limit := int(min(max(2*maxBytes/assumedEntryBytes, 1000), 1<<20))
	return &thrash{now: now, logger: logger, maxBytes: maxBytes, dropped: make(map[uint64]int64), limit: limit}
}

// hooks wires t into ristretto's eviction and rejection callbacks.
func (t *thrash) hooks(cfg *ristretto.Config[string, *entry]) {
	cfg.OnEvict = func(it *ristretto.Item[*entry]) {
		if it.Value == nil || !t.now().Before(it.Value.expiry) {
			return // expired: its TTL ended it, not a lack of room
		}
		t.evictions.Add(1)
		t.drop(it.Key, it.Value.expiry, it.Cost)
	}
	cfg.OnReject = func(it *ristretto.Item[*entry]) {
		if it.Value == nil {
			return
		}
		t.rejections.Add(1)
		t.drop(it.Key, it.Value.expiry, it.Cost)
	}
}

func (t *thrash) drop(hash uint64, expiry time.Time, cost int64) {
	t.droppedBytes.Add(cost)
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.dropped) >= t.limit {
		t.sweep()
	}
	t.dropped[hash] = expiry.UnixNano()
}

// sweep forgets expired keys, and if that frees too little, an arbitrary tenth: the counts
// then under-report, never over-report. Callers hold mu.
func (t *thrash) sweep() {
	now := t.now().UnixNano()
	for k, exp := range t.dropped {
		if exp <= now {
			delete(t.dropped, k)
		}
	}
	for k := range t.dropped {
		if len(t.dropped) < t.limit*9/10 {
			break
		}
		delete(t.dropped, k)
	}
}

// missed is called on a cache miss for key: if the key was dropped while its token was
// valid and the token would still be valid now, this is a refetch.
func (t *thrash) missed(ctx context.Context, key string) {
	hash, _ := z.KeyToHash(key)
	now := t.now()
	t.mu.Lock()
	exp, ok := t.dropped[hash]
	if ok {
		delete(t.dropped, hash)
	}
	t.mu.Unlock()
	if !ok || exp <= now.UnixNano() {
		return
	}
	t.refetches.Add(1)
	t.warn(ctx, now)
}

// warn logs, at most once per warnEvery, how large token.cacheMaxBytes should be: what the
// cache holds now plus the still-valid tokens it dropped, at the mean size observed, with a
// quarter of headroom, rounded up to MiB.
func (t *thrash) warn(ctx context.Context, now time.Time) {
	last := t.lastWarn.Load()
	if last != 0 && now.Sub(time.Unix(0, last)) < warnEvery {
		return
	}
	if !t.lastWarn.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	drops := t.evictions.Load() + t.rejections.Load()
	mean := t.droppedBytes.Load() / max(drops, 1)
	t.mu.Lock()
	valid := int64(len(t.dropped))
	t.mu.Unlock()
	held := t.maxBytes / max(mean, 1)
	want := (t.maxBytes + (valid+1)*mean) * 5 / 4
	want = (want + 1<<20 - 1) &^ (1<<20 - 1)
	t.logger.LogAttrs(ctx, slog.LevelWarn,
		"token cache too small: valid tokens are evicted and fetched again; raise token.cacheMaxBytes",
		slog.Int64("token_cache_bytes", t.maxBytes), slog.Int64("suggested_token_cache_bytes", want),
		slog.Int64("raise_by_bytes", want-t.maxBytes), slog.Int64("mean_entry_bytes", mean),
		slog.Int64("sessions_estimate", held+valid), slog.Int64("refetches", t.refetches.Load()))
}

// CacheStats are a token cache's counts since start.
type CacheStats struct {
	// Evictions are valid tokens dropped to make room; Rejections valid tokens the cache
	// refused to admit (ristretto's TinyLFU admission); Refetches are misses for a token
	// dropped either way while it would still be valid.
	Evictions, Rejections, Refetches int64
}

// Stats returns the cache's eviction and refetch counts.
func (c *TokenCache) Stats() CacheStats {
	return CacheStats{Evictions: c.thrash.evictions.Load(), Rejections: c.thrash.rejections.Load(), Refetches: c.thrash.refetches.Load()}
}
