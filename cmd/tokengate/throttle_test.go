package main

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/browser"
	"github.com/tokengate/tokengate/internal/devidp"
)

// The identity provider throttles (429 with Retry-After, as Entra does): a user with a
// still-valid token keeps it; tokengate then stops calling for the Retry-After, answering
// 503 with Retry-After when no valid token is left instead of hammering the provider; once
// the delay is over, refreshes work again.
func TestProviderThrottling(t *testing.T) {
	h := newHarness(t, nil)
	h.signIn("alice")
	alice := h.browser
	h.browser = browser.New(h.auth.Client().Transport)
	h.signIn("bob")
	bob := h.browser
	bobToken := h.authRequest(nil).Header.Get("Authorization")

	// Both past the safety margin, not expired. One refresh a second is answered: alice's.
	h.clock.Advance(testTokenLifetime - h.cfg.Token.SafetyMargin/2)
	h.idp.SetThrottle(devidp.Throttle{RefreshesPerSecond: 1, RetryAfter: 2 * time.Minute})
	h.browser = alice
	if page := h.authRequest(nil); page.Status != http.StatusOK {
		t.Fatalf("alice's refresh: status %d; want 200", page.Status)
	}
	h.browser = bob
	page := h.authRequest(nil)
	if page.Status != http.StatusOK || page.Header.Get("Authorization") != bobToken {
		t.Fatalf("bob throttled with a valid token: status %d, same token %v; want 200 with it",
			page.Status, page.Header.Get("Authorization") == bobToken)
	}
	if tooMany, _ := h.idp.Throttled(); tooMany != 1 {
		t.Fatalf("provider refused %d refreshes; want 1", tooMany)
	}

	// Bob's token has expired; the provider's 2 minutes are not over: no call, 503, Retry-After.
	calls := h.idp.TokenCalls("refresh_token")
	h.clock.Advance(h.cfg.Token.SafetyMargin)
	page = h.authRequest(nil)
	if page.Status != http.StatusServiceUnavailable {
		t.Fatalf("throttled without a valid token: status %d; want 503", page.Status)
	}
	wait, err := strconv.Atoi(page.Header.Get("Retry-After"))
	if err != nil || wait < 1 || wait > 120 {
		t.Errorf("Retry-After %q; want 1..120 seconds", page.Header.Get("Retry-After"))
	}
	if got := h.idp.TokenCalls("refresh_token"); got != calls {
		t.Errorf("%d token calls during the provider's Retry-After; want none", got-calls)
	}

	// After the delay: refreshed.
	h.clock.Advance(time.Duration(wait) * time.Second)
	if page := h.authRequest(nil); page.Status != http.StatusOK {
		t.Fatalf("after Retry-After: status %d; want 200", page.Status)
	}
}
