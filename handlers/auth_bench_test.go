package handlers_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/dashboards"
	"github.com/tokengate/tokengate/handlers"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/forward"
	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/secret"
	"github.com/tokengate/tokengate/session"
)

// These benchmarks measure the /auth hot path in-process: the target is at most
// 10 allocations per /auth on a cache hit. `make bench` measures the same path over
// loopback HTTP against a bare net/http handler.

// benchNow is fixed: expiries are judged against it, so a run never crosses one.
var benchNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// traefikHeaders are what Traefik's ForwardAuth sends for an XHR to a dashboard's API.
func traefikHeaders() http.Header {
	return http.Header{
		"X-Forwarded-Method": {"GET"},
		"X-Forwarded-Proto":  {"https"},
		"X-Forwarded-Host":   {"headlamp.example.com"},
		"X-Forwarded-Uri":    {"/api/v1/namespaces/default/pods?limit=500"},
		"X-Forwarded-For":    {"10.1.2.3"},
		"Accept":             {"application/json"},
	}
}

func BenchmarkParseForward(b *testing.B) {
	nginx := http.Header{
		"X-Original-Url":    {"https://headlamp.example.com/api/v1/namespaces/default/pods?limit=500"},
		"X-Original-Method": {"GET"},
		"Accept":            {"application/json"},
	}
	tests := []struct {
		name   string
		mode   string
		header http.Header
	}{
		{name: "traefik", mode: forward.ModeTraefik, header: traefikHeaders()},
		{name: "ingress-nginx", mode: forward.ModeIngressNginx, header: nginx},
		{name: "auto/ingress-nginx", mode: forward.ModeAuto, header: nginx},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				fwd, err := forward.ParseHeaders(tt.mode, tt.header)
				if err != nil || fwd.Host != "headlamp.example.com" {
					b.Fatalf("forward.ParseHeaders = %+v, %v", fwd, err)
				}
			}
		})
	}
}

// BenchmarkAuth runs the whole gin engine for one /auth cache hit: a real sealed cookie
// opened by the real cookie store, the real token cache seeded as a sign-in seeds it, the
// default dashboard profile and its headers. The response writer is reused and reset, so
// the allocations counted are tokengate's, not the recorder's.
func BenchmarkAuth(b *testing.B) {
	tests := []struct {
		name   string
		groups int
	}{
		{name: "1 group", groups: 1},
		{name: "200 groups", groups: 200},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			h, req := newBenchAuth(b, tt.groups)
			w := &resetWriter{header: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, req)
				if w.status != http.StatusOK || len(w.header["Authorization"]) != 1 {
					b.Fatalf("/auth answered %d; want 200 with Authorization", w.status)
				}
			}
		})
	}
}

// newBenchAuth wires the handler as cmd/tokengate's newApp does, signs a session into a
// cookie and seeds its token, and returns the handler and a forward-auth request.
func newBenchAuth(b *testing.B, groups int) (http.Handler, *http.Request) {
	b.Helper()
	return newBenchAuthWith(b, groups, func(*handlers.Deps) {})
}

// newBenchAuthWith is newBenchAuth with tweak applied to the handler's dependencies
// (telemetry, say). Tests use it too.
func newBenchAuthWith(b testing.TB, groups int, tweak func(*handlers.Deps)) (http.Handler, *http.Request) {
	b.Helper()
	now := func() time.Time { return benchNow }
	cfg := config.Defaults()
	cfg.PublicURL = "https://auth.example.com"
	cfg.AllowedRedirectDomains = []string{".example.com"}
	cfg.Provider.IssuerURL = "https://login.microsoftonline.com/tenant/v2.0"
	cfg.Provider.ClientID = "tokengate-bench"
	cfg.Provider.ClientSecret = "bench-client-secret"
	cfg.Cookie.Secrets = []secret.String{secret.String(base64.StdEncoding.EncodeToString(make([]byte, 32)))}
	cfg.ForwardAuth.Mode = forward.ModeTraefik
	if err := cfg.Validate(); err != nil {
		b.Fatalf("config: %v", err)
	}
	profiles, err := dashboards.New(&cfg)
	if err != nil {
		b.Fatalf("dashboards: %v", err)
	}
	keys, err := cfg.CookieKeys()
	if err != nil {
		b.Fatalf("cookie keys: %v", err)
	}
	codec, err := session.NewCodec(keys, now)
	if err != nil {
		b.Fatalf("codec: %v", err)
	}
	store := session.NewCookieStore(codec, session.CookieOptions{Name: cfg.Cookie.Name, Domain: cfg.Cookie.Domain})
	tokens, err := session.NewTokenCache(noRefresh{b}, session.CacheOptions{
		SafetyMargin: cfg.Token.SafetyMargin, RefreshAhead: cfg.Token.RefreshAhead,
		MaxBytes: 64 << 20, Now: now,
	})
	if err != nil {
		b.Fatalf("token cache: %v", err)
	}
	b.Cleanup(tokens.Close)
	sess := benchSession(b, groups)
	rec := httptest.NewRecorder()
	if err := store.Save(rec, httptest.NewRequest(http.MethodGet, "/oauth2/callback", nil), sess); err != nil {
		b.Fatalf("save session: %v", err)
	}
	tokens.Seed(sess, cfg.Provider.ResourceScope, idp.Token{AccessToken: entraSizedToken(2500), Expiry: benchNow.Add(time.Hour)})

	deps := handlers.Deps{
		Config: &cfg, Ready: func() error { return nil }, Sessions: store, Tokens: tokens,
		Dashboards: profiles, Codec: codec, Now: now,
	}
	tweak(&deps)
	h := handlers.New(deps)
	req := httptest.NewRequest(http.MethodGet, "/auth", nil)
	req.Header = traefikHeaders()
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	return h, req
}

func benchSession(b testing.TB, groups int) *session.Session {
	b.Helper()
	id, err := session.NewID()
	if err != nil {
		b.Fatal(err)
	}
	s := &session.Session{
		ID: id, Subject: "b0b00000-0000-4000-8000-000000000b0b", TenantID: "8c5d7f2e-4b1a-4e3c-9d6f-0a1b2c3d4e5f",
		Issuer: "https://login.example.com/tenant/v2.0", Name: "Bob Builder",
		PreferredUsername: "bob@contoso.example", Email: "bob@contoso.example",
		SID:          "00ab1234-0000-4000-8000-0000000000ab",
		RefreshToken: secret.String("1.AR" + strings.Repeat("r", 1400)),
		CreatedAt:    benchNow.Add(-time.Hour), ExpiresAt: benchNow.Add(11 * time.Hour),
	}
	for i := range groups {
		s.Groups = append(s.Groups, fmt.Sprintf("7ea30000-0000-4000-8000-%012d", i))
	}
	return s
}

// entraSizedToken is a JWT-shaped value of n bytes, the size of an Entra access token.
func entraSizedToken(n int) secret.String {
	const head = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9."
	return secret.String(head + strings.Repeat("A", n-len(head)))
}

// noRefresh fails the benchmark when the token cache asks for a refresh: every /auth here
// must be a hit.
type noRefresh struct{ b testing.TB }

func (r noRefresh) Refresh(context.Context, secret.String, string) (idp.Token, error) {
	r.b.Error("token refresh on the hot path; want a cache hit")
	return idp.Token{}, idp.ErrUnavailable
}

// resetWriter is a ResponseWriter that keeps its header map between requests.
type resetWriter struct {
	header http.Header
	status int
}

func (w *resetWriter) Header() http.Header         { return w.header }
func (w *resetWriter) Write(p []byte) (int, error) { w.writeHeader(http.StatusOK); return len(p), nil }
func (w *resetWriter) WriteHeader(code int)        { w.writeHeader(code) }

func (w *resetWriter) writeHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *resetWriter) reset() {
	clear(w.header)
	w.status = 0
}
