package devidp

import (
	"crypto/sha256"
	"net/http"
	"strconv"
	"time"
)

// Throttle makes the token endpoint refuse refreshes the way Entra does under load. Zero
// fields are off.
type Throttle struct {
	// RefreshesPerSecond is how many refresh_token calls a second are answered; more get 429
	// with Retry-After (AADSTS90055, "too many incoming requests").
	RefreshesPerSecond int
	// RetryAfter is the Retry-After of those 429s, default 1s.
	RetryAfter time.Duration
	// LoopAfter is how many identical refreshes (same refresh token, same scope) within a
	// minute are answered; more get AADSTS50196, Entra's loop detection, which names no
	// Retry-After.
	LoopAfter int
}

// throttleState is the bookkeeping of Throttle, guarded by Provider.mu.
type throttleState struct {
	cfg         Throttle
	second      int64 // Unix second of count
	count       int
	identical   map[[32]byte][]time.Time
	refused429  int
	refusedLoop int
}

// SetThrottle turns throttling on (or off with Throttle{}), from the next call.
func (p *Provider) SetThrottle(t Throttle) {
	if t.RetryAfter <= 0 {
		t.RetryAfter = time.Second
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.throttle = throttleState{cfg: t, identical: make(map[[32]byte][]time.Time)}
}

// Throttled counts the refreshes refused with 429 and with loop detection since SetThrottle.
func (p *Provider) Throttled() (tooMany, loops int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.throttle.refused429, p.throttle.refusedLoop
}

// throttled decides whether a refresh_token call is refused, before anything else is
// checked (Entra throttles before it authenticates). Callers hold p.mu.
func (p *Provider) throttled(refreshToken, scope string) (*entraError, time.Duration) {
	t := &p.throttle
	now := p.now()
	if t.cfg.LoopAfter > 0 {
		key := sha256.Sum256([]byte(refreshToken + "\x00" + scope))
		seen := t.identical[key][:0]
		for _, at := range t.identical[key] {
			if now.Sub(at) < time.Minute {
				seen = append(seen, at)
			}
		}
		t.identical[key] = append(seen, now)
		if len(seen) >= t.cfg.LoopAfter {
			t.refusedLoop++
			return &entraError{status: http.StatusBadRequest, code: "invalid_request", aadsts: 50196,
				text: "The server terminated an operation because it encountered a client request loop. Please contact your app vendor."}, 0
		}
	}
	if t.cfg.RefreshesPerSecond > 0 {
		if s := now.Unix(); s != t.second {
			t.second, t.count = s, 0
		}
		t.count++
		if t.count > t.cfg.RefreshesPerSecond {
			t.refused429++
			return &entraError{status: http.StatusTooManyRequests, code: "temporarily_unavailable", aadsts: 90055,
				text: "There are too many incoming requests. Please try again later."}, t.cfg.RetryAfter
		}
	}
	return nil, 0
}

// writeThrottled answers a throttled call with Retry-After when there is one.
func (p *Provider) writeThrottled(w http.ResponseWriter, r *http.Request, e *entraError, retryAfter time.Duration) {
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
	}
	p.writeError(w, r, e)
}
