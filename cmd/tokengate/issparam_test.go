package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// issAdder adds an iss parameter to the authorization response, as a provider that
// implements RFC 9207 does (or a mixed-up one would).
type issAdder struct {
	base http.RoundTripper
	iss  *string // nil: the response carries no iss
}

func (a issAdder) RoundTrip(r *http.Request) (*http.Response, error) {
	if a.iss != nil && strings.HasSuffix(r.URL.Path, "/oauth2/callback") {
		r = r.Clone(r.Context())
		q := r.URL.Query()
		q.Set("iss", *a.iss)
		r.URL.RawQuery = q.Encode()
	}
	base := a.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

func TestCallbackIssParameter(t *testing.T) {
	h := newHarness(t, nil)
	base := h.browser.Client.Transport
	issuer, other, empty := h.idp.Issuer(), "https://evil.example.test/v2.0", ""
	tests := []struct {
		name   string
		iss    *string
		wantOK bool
	}{
		{name: "no iss: providers without RFC 9207", iss: nil, wantOK: true},
		{name: "the configured issuer", iss: &issuer, wantOK: true},
		{name: "another issuer", iss: &other},
		{name: "empty iss", iss: &empty},
		{name: "issuer with a trailing slash", iss: ptr(issuer + "/")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.browser.Client.Transport = issAdder{base: base, iss: tt.iss}
			before := h.idp.TokenCalls("authorization_code")
			page, err := h.browser.Navigate(h.dashboard.URL + "/iss")
			if err != nil {
				t.Fatal(err)
			}
			if page.Status == http.StatusOK && strings.Contains(string(page.Body), `name="password"`) {
				if page, err = h.browser.SignIn(page, "alice", "password"); err != nil {
					t.Fatal(err)
				}
			}
			redeemed := h.idp.TokenCalls("authorization_code") - before
			if tt.wantOK {
				if page.Status != http.StatusOK || string(page.Body) != "dashboard ok" || redeemed != 1 {
					t.Fatalf("got %d %q after %d redemption(s); want the dashboard after one", page.Status, page.Body, redeemed)
				}
				h.browser.Client.Transport = base
				if _, err := h.browser.Navigate(h.auth.URL + "/oauth2/sign_out"); err != nil {
					t.Fatal(err)
				}
				return
			}
			if page.Status != http.StatusBadRequest || !strings.Contains(string(page.Body), "iss parameter") || redeemed != 0 {
				t.Fatalf("got %d %q after %d redemption(s); want 400 naming iss and no redemption; hops %v",
					page.Status, page.Body, redeemed, hopsWithoutQuery(h.browser.Hops))
			}
		})
	}
}

func ptr(s string) *string { return &s }

func hopsWithoutQuery(hops []string) []string {
	out := make([]string, 0, len(hops))
	for _, h := range hops {
		if u, err := url.Parse(h); err == nil {
			u.RawQuery = ""
			h = u.String()
		}
		out = append(out, h)
	}
	return out
}
