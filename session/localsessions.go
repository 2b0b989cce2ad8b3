package session

import (
	"sync"
	"time"
)

// localSessions is the in-memory copy of sessions read from Redis. An entry is fresh until
// its deadline (read time + CacheTTL): within it Load trusts the copy, which is what bounds
// revocation. After it the copy is kept only as a fallback while Redis is unreachable.
type localSessions struct {
	mu  sync.Mutex
	m   map[string]localSession
	max int
}

type localSession struct {
	sess       *Session
	freshUntil time.Time
}

func newLocalSessions(max int) *localSessions {
	return &localSessions{m: make(map[string]localSession), max: max}
}

// get returns a copy of id's session (nil when absent or past its own end) and whether it
// is still fresh at now.
func (l *localSessions) get(id string, now time.Time) (*Session, bool) {
	l.mu.Lock()
	e, ok := l.m[id]
	l.mu.Unlock()
	if !ok || e.sess.Expired(now) {
		return nil, false
	}
	cp := *e.sess // callers may change their copy (a rotated refresh token) freely
	return &cp, now.Before(e.freshUntil)
}

// put remembers sess as read or written now, fresh until freshUntil. When full it first
// drops ended sessions, then arbitrary ones: the cache is an optimisation, Redis the copy.
func (l *localSessions) put(id string, sess *Session, freshUntil time.Time) {
	cp := *sess
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.m[id]; !ok && len(l.m) >= l.max {
		l.evictLocked(freshUntil)
	}
	l.m[id] = localSession{sess: &cp, freshUntil: freshUntil}
}

func (l *localSessions) evictLocked(now time.Time) {
	for id, e := range l.m {
		if e.sess.Expired(now) {
			delete(l.m, id)
		}
	}
	for id := range l.m { // map order is random: this drops arbitrary entries
		if len(l.m) < l.max*7/8 {
			break
		}
		delete(l.m, id)
	}
}

func (l *localSessions) drop(id string) {
	l.mu.Lock()
	delete(l.m, id)
	l.mu.Unlock()
}

// dropSID drops every session carrying sid and reports how many there were.
func (l *localSessions) dropSID(sid string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for id, e := range l.m {
		if e.sess.SID == sid {
			delete(l.m, id)
			n++
		}
	}
	return n
}
