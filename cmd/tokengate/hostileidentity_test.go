package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/devidp"
)

// TestHostileEmailRefusedWithReason: through the whole stack, an e-mail claim built to pass
// a naive domain check gets a 403 that says why, and keeps the session.
func TestHostileEmailRefusedWithReason(t *testing.T) {
	users := []devidp.User{
		{Username: "mallory", Password: "password", Name: "Mallory", UPN: "mallory@evil.example",
			Email: "mallory@evil.example@contoso.example", OID: "0a110000-0000-4000-8000-000000000a11"},
		{Username: "carol", Password: "password", Name: "Carol", UPN: "carol@contoso.example",
			Email: "Carol@CONTOSO.example", OID: "0ca10000-0000-4000-8000-000000000ca1"},
	}
	tests := []struct {
		user       string
		wantStatus int
		wantText   string
	}{
		{user: "mallory", wantStatus: http.StatusForbidden, wantText: "more than one @"},
		{user: "carol", wantStatus: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			h := newHarnessWith(t, func(c *config.Config) {
				c.Dashboards = []config.Dashboard{{Name: "grafana", Preset: "grafana", Default: true,
					AllowedEmailDomains: []string{"contoso.example"}}}
			}, harnessOptions{users: users})
			page, err := h.browser.Navigate(h.dashboard.URL + "/")
			if err != nil {
				t.Fatal(err)
			}
			if page, err = h.browser.SignIn(page, tt.user, "password"); err != nil {
				t.Fatal(err)
			}
			if page.Status != tt.wantStatus || !strings.Contains(string(page.Body), tt.wantText) {
				t.Fatalf("got %d %q; want %d containing %q", page.Status, page.Body, tt.wantStatus, tt.wantText)
			}
			if tt.wantStatus == http.StatusForbidden {
				if got := h.authRequest(nil).Status; got != http.StatusForbidden {
					t.Errorf("/auth after the refusal = %d; want 403 again (the session is kept, not 401)", got)
				}
			}
		})
	}
}
