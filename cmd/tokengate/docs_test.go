package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

// entraGuide is the app registration guide operators follow.
const entraGuide = "../../deploy/examples/entra-app-registration.md"

// TestEntraGuideMatchesRoutes: every tokengate endpoint the app registration guide tells an
// operator to register (callback, front-channel logout, sign-out) is one tokengate serves,
// and the guide no longer says a shipped feature is missing.
func TestEntraGuideMatchesRoutes(t *testing.T) {
	data, err := os.ReadFile(entraGuide)
	if err != nil {
		t.Fatal(err)
	}
	guide := string(data)
	paths := map[string]bool{}
	for _, m := range regexp.MustCompile(`/oauth2/[a-z_]+`).FindAllString(guide, -1) {
		paths[m] = true
	}
	for _, want := range []string{"/oauth2/callback", "/oauth2/frontchannel_logout", "/oauth2/sign_out"} {
		if !paths[want] {
			t.Errorf("the guide does not mention %s", want)
		}
	}
	h := newHarness(t, nil)
	for p := range paths {
		rec := httptest.NewRecorder()
		h.app.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://auth.example.com"+p, nil))
		if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed {
			t.Errorf("the guide names %s; tokengate answers GET %s with %d", p, p, rec.Code)
		}
	}
	for _, stale := range []string{"does not serve", "not serve a front-channel", "once issue", "until then keep a secret"} {
		if strings.Contains(guide, stale) {
			t.Errorf("the guide still says %q", stale)
		}
	}
}
