package idp

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrThrottled means the token endpoint, or tokengate's own limit on calls to it, asked
// for fewer calls. It wraps ErrUnavailable: a still-valid cached token may keep being used.
var ErrThrottled = fmt.Errorf("%w: throttled", ErrUnavailable)

// Entra error codes that mean "slow down" whatever the HTTP status and OAuth error say.
// AADSTS50196 is loop detection: the same token asked for again and again in a short time.
// AADSTS90055 is tenant throttling: too many requests for the tenant.
const (
	aadstsLoopDetected     = 50196
	aadstsTenantThrottling = 90055
)

// loopDetectedBackoff is how long to stop calling after Entra's loop detection, which
// sends no Retry-After: Entra documents no figure; a minute stops the loop without
// leaving users without tokens for long.
const loopDetectedBackoff = time.Minute

// maxRetryAfter caps what a Retry-After header can impose: a misconfigured or hostile
// answer must not stop every refresh for a day.
const maxRetryAfter = 10 * time.Minute

// RetryAfter returns how long err asks its caller to wait before calling again, when it
// says: an identity provider's Retry-After, a back-off after Entra's loop detection, or
// tokengate's own limiter.
func RetryAfter(err error) (time.Duration, bool) {
	var r interface{ RetryAfter() time.Duration }
	if errors.As(err, &r) {
		if d := r.RetryAfter(); d > 0 {
			return d, true
		}
	}
	return 0, false
}

// RetryAfter is how long the provider asked us to wait; zero when it did not say.
func (e *ProviderError) RetryAfter() time.Duration { return e.retryAfter }

// throttling reports whether an error answer asks for fewer calls, and how long to wait.
func throttling(status int, aadstsCode int, h http.Header, now time.Time) (bool, time.Duration) {
	wait := parseRetryAfter(h.Get("Retry-After"), now)
	switch aadstsCode {
	case aadstsLoopDetected:
		return true, max(wait, loopDetectedBackoff)
	case aadstsTenantThrottling:
		return true, wait
	}
	return status == http.StatusTooManyRequests, wait
}

// parseRetryAfter reads RFC 9110 10.2.3 Retry-After: delay-seconds or an HTTP-date. A
// missing, unreadable or past value is 0; a long one is capped at maxRetryAfter.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		d = time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = at.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}
