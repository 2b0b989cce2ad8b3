package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// pendingCookies returns the sign-in (CSRF) cookies the browser would send to the callback,
// and their size in the Cookie header.
func (h *harness) pendingCookies() (n, size int) {
	u, _ := url.Parse(h.auth.URL + "/oauth2/callback")
	for _, c := range h.browser.Client.Jar.Cookies(u) {
		if strings.HasPrefix(c.Name, h.cfg.Cookie.Name+"_csrf_") {
			n++
			size += len(c.Name) + 1 + len(c.Value) + 2
		}
	}
	return n, size
}

// Sign-ins in flight are bounded per browser: 100 starts leave 5 cookies within 3 KiB, the
// newest still completes, and an evicted one is refused with a way to start again.
func TestPendingSignInsStayBounded(t *testing.T) {
	h := newHarness(t, nil)
	var states []string
	for i := 0; i < 100; i++ {
		h.clock.Advance(time.Millisecond)
		rd := url.QueryEscape(h.dashboard.URL + "/page/" + strings.Repeat("x", (i%10)*10))
		page, err := h.browser.Fetch(http.MethodGet, h.auth.URL+"/oauth2/start?rd="+rd, nil)
		if err != nil || page.Status != http.StatusFound {
			t.Fatalf("start %d: %v %v", i, err, page)
		}
		loc, _ := url.Parse(page.Header.Get("Location"))
		states = append(states, loc.Query().Get("state"))
		if n, size := h.pendingCookies(); n > 5 || size > 3<<10 {
			t.Fatalf("after start %d the browser holds %d sign-in cookies, %d bytes; want at most 5 and 3072", i, n, size)
		}
	}
	if n, _ := h.pendingCookies(); n != 5 {
		t.Errorf("the browser holds %d sign-in cookies; want the newest 5 kept", n)
	}

	// The oldest sign-in was evicted: its callback is refused before any provider call.
	page, err := h.browser.Navigate(h.auth.URL + "/oauth2/callback?code=x&state=" + states[0])
	if err != nil || page.Status != http.StatusForbidden || !strings.Contains(string(page.Body), "replaced by newer ones") {
		t.Errorf("callback of an evicted sign-in = %v %d; want 403 saying it was replaced", err, page.Status)
	}
	if got := h.idp.TokenCalls("authorization_code"); got != 0 {
		t.Errorf("code redemptions = %d; want 0", got)
	}

	// A start whose rd is near the 2 KB limit evicts every other sign-in but is itself kept.
	long := url.QueryEscape(h.dashboard.URL + "/" + strings.Repeat("y", 1950))
	if page, err := h.browser.Fetch(http.MethodGet, h.auth.URL+"/oauth2/start?rd="+long, nil); err != nil || page.Status != http.StatusFound {
		t.Fatalf("start with a long rd: %v %v", err, page)
	}
	if n, size := h.pendingCookies(); n != 1 || size > 3300 {
		t.Errorf("after a long rd the browser holds %d sign-in cookies, %d bytes; want 1 of at most 3300", n, size)
	}

	// The user then signs in normally, through one more start.
	h.signIn("alice")
}
