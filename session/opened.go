package session

import (
	"hash/maphash"
	"sync"
)

// openedSessions remembers sessions the cookie store has already opened, keyed by their
// sealed value, so that the next /auth with the same cookie costs a hash lookup instead of
// base64, AES-GCM and decoding (about half of /auth's CPU). A hit compares the whole sealed
// value, so a collision of the 64-bit keyed hash can never hand out another user's session.
// The cache holds nothing the cookie does not: the browser already has it, sealed.
type openedSessions struct {
	seed          maphash.Seed
	shards        [openedShards]openedShard
	maxShardBytes int64
}

// openedShards spreads the lock over several maps: every /auth takes one.
const openedShards = 16

type openedShard struct {
	mu    sync.RWMutex
	m     map[uint64]*openedSession
	bytes int64
}

type openedSession struct {
	sealed string
	sess   *Session
	cost   int64
}

func newOpenedSessions(maxBytes int64) *openedSessions {
	o := &openedSessions{seed: maphash.MakeSeed(), maxShardBytes: max(maxBytes/openedShards, 1)}
	for i := range o.shards {
		o.shards[i].m = make(map[uint64]*openedSession)
	}
	return o
}

// get returns the session sealed as sealed, or nil. Callers still check its expiry.
func (o *openedSessions) get(sealed string) *Session {
	h := maphash.String(o.seed, sealed)
	sh := &o.shards[h%openedShards]
	sh.mu.RLock()
	e := sh.m[h]
	sh.mu.RUnlock()
	if e == nil || e.sealed != sealed {
		return nil
	}
	return e.sess
}

// put remembers sess, evicting arbitrary entries of its shard to stay under the bound.
func (o *openedSessions) put(sealed string, sess *Session) {
	e := &openedSession{sealed: sealed, sess: sess, cost: openedCost(sealed, sess)}
	if e.cost > o.maxShardBytes {
		return
	}
	h := maphash.String(o.seed, sealed)
	sh := &o.shards[h%openedShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old, ok := sh.m[h]; ok {
		sh.bytes -= old.cost
		delete(sh.m, h)
	}
	for k, victim := range sh.m {
		if sh.bytes+e.cost <= o.maxShardBytes {
			break
		}
		sh.bytes -= victim.cost
		delete(sh.m, k)
	}
	sh.m[h] = e
	sh.bytes += e.cost
}

// openedCost approximates the memory an entry holds: the sealed value and the session's
// strings, plus the structs and map slot.
func openedCost(sealed string, s *Session) int64 {
	n := len(sealed) + len(s.ID) + len(s.Subject) + len(s.TenantID) + len(s.Issuer) + len(s.Name) +
		len(s.PreferredUsername) + len(s.Email) + len(s.SID) + len(s.RefreshToken) + 300
	for _, g := range s.Groups {
		n += len(g) + 16
	}
	return int64(n)
}
