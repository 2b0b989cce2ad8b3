package main

import (
	"net/url"
	"strings"
	"testing"
)

// TestSignOutRedirectPort: the post-logout redirect obeys the port rule of the sign-in
// redirect. The dashboard's port is listed; the same host on another port is not, so the
// provider is asked to send the browser back to tokengate instead.
func TestSignOutRedirectPort(t *testing.T) {
	h := newHarness(t, nil)
	dash, err := url.Parse(h.dashboard.URL)
	if err != nil {
		t.Fatal(err)
	}
	otherPort := "1"
	if dash.Port() == otherPort {
		otherPort = "2"
	}
	tests := []struct {
		name string
		rd   string
		want string // post_logout_redirect_uri sent to the provider
	}{
		{name: "listed port", rd: h.dashboard.URL + "/", want: h.dashboard.URL + "/"},
		{name: "same host, unlisted port", rd: "https://" + dash.Hostname() + ":" + otherPort + "/", want: h.auth.URL + "/"},
		{name: "same host, default port", rd: "https://" + dash.Hostname() + "/", want: h.auth.URL + "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.signIn("alice")
			if _, err := h.browser.Navigate(h.auth.URL + "/oauth2/sign_out?rd=" + url.QueryEscape(tt.rd)); err != nil {
				t.Fatal(err)
			}
			got := ""
			for _, hop := range h.browser.Hops {
				if u, err := url.Parse(hop); err == nil && strings.HasSuffix(u.Path, "/oauth2/v2.0/logout") {
					got = u.Query().Get("post_logout_redirect_uri")
				}
			}
			if got != tt.want {
				t.Errorf("post_logout_redirect_uri = %q; want %q", got, tt.want)
			}
		})
	}
}
