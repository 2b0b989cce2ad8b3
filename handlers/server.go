// Package handlers is tokengate's HTTP surface: the gin engine, the forward-auth endpoint the
// ingress calls on every request, and the sign-in, sign-out and user endpoints the browser
// visits. It holds no business state; sessions and tokens live in package session.
package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/trace"

	"github.com/tokengate/tokengate/dashboards"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/forward"
	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/secret"
	"github.com/tokengate/tokengate/internal/telemetry"
	"github.com/tokengate/tokengate/session"
)

// IdentityProvider is the OIDC client the sign-in endpoints use; *idp.Client satisfies it.
// Methods return errors wrapping idp.ErrUnavailable while the provider cannot be reached.
type IdentityProvider interface {
	AuthCodeURL(state, nonce, verifier string) (string, error)
	Exchange(ctx context.Context, code, verifier, nonce string) (*idp.SignIn, error)
	EndSessionURL(postLogout string) string
}

// SessionStore loads and saves the session of a browser; *session.CookieStore and
// *session.RedisStore satisfy it. Load returns an error wrapping session.ErrNoSession for
// anything that is not a valid, live session, and the session it returns may be shared with
// other requests: callers treat it as read-only.
//
// SaveRotated and ResealCookie write from an /auth answer, which ingress-nginx relays to the
// browser with its first Set-Cookie only. SaveRotated saves a session whose refresh token
// rotated only when that takes at most one Set-Cookie, and reports whether it saved (Save is
// for answers whose every cookie reaches the browser). ResealCookie adds one Set-Cookie that
// seals r's cookie again with the primary key when an older key of cookie.secrets opened it,
// and reports whether it did: the proxy must not cache that answer.
type SessionStore interface {
	Load(ctx context.Context, r *http.Request) (*session.Session, error)
	Save(w http.ResponseWriter, r *http.Request, s *session.Session) error
	SaveRotated(w http.ResponseWriter, r *http.Request, s *session.Session) (bool, error)
	ResealCookie(w http.ResponseWriter, r *http.Request, s *session.Session) bool
	Clear(w http.ResponseWriter, r *http.Request)
}

// TokenSource hands out access tokens per (session, scope); *session.TokenCache satisfies it.
type TokenSource interface {
	Get(ctx context.Context, s *session.Session, scope string) (session.Result, error)
	Seed(s *session.Session, scope string, tok idp.Token)
	Forget(s *session.Session, scope string)
}

// GroupResolver reads the complete group list of a session whose token carried Entra's
// groups overage claim. rotated is non-empty when getting a Graph token rotated the refresh
// token; the caller saves it.
type GroupResolver interface {
	Groups(ctx context.Context, s *session.Session) (groups []string, rotated secret.String, err error)
	Forget(s *session.Session)
}

// BearerVerifier checks a caller's own bearer JWT against a profile's trusted issuers.
// Errors wrap idp.ErrUnavailable when the issuer's keys cannot be fetched.
type BearerVerifier interface {
	Verify(ctx context.Context, raw string) (idp.Identity, error)
}

// sessionPeeker is a store that can answer from memory alone, without network I/O, what
// Load would answer, and says when it cannot. Tracing uses it to tell the in-memory path,
// which needs no span of its own, before the step starts. It stays optional, outside
// SessionStore: only tracing needs it. Without it every traced cache hit makes a second span,
// measured at 5 more allocations (25 against 20), 1.1 KB more and a median 1.2× the handler's
// time (BenchmarkAuthTelemetry/metrics+tracing), against a tracing budget with no room left
// (BENCHMARKS.md, "Tracing").
type sessionPeeker interface {
	Peek(r *http.Request) (*session.Session, bool)
}

// tokenPeeker returns a token only when Get would answer a plain hit, and never refreshes.
type tokenPeeker interface {
	Peek(s *session.Session, scope string) (session.Result, bool)
}

var (
	_ sessionPeeker    = (*session.CookieStore)(nil)
	_ sessionPeeker    = (*session.RedisStore)(nil)
	_ tokenPeeker      = (*session.TokenCache)(nil)
	_ IdentityProvider = (*idp.Client)(nil)
	_ SessionStore     = (*session.CookieStore)(nil)
	_ SessionStore     = (*session.RedisStore)(nil)
	_ TokenSource      = (*session.TokenCache)(nil)
	_ GroupResolver    = (*session.GroupResolver)(nil)
	_ BearerVerifier   = (*idp.BearerVerifier)(nil)
)

// Deps are the collaborators of the HTTP surface.
type Deps struct {
	Config *config.Config
	IdP    IdentityProvider
	// Ready returns nil when tokengate can serve sign-ins, else what is missing.
	Ready    func() error
	Sessions SessionStore
	Tokens   TokenSource
	// Dashboards picks the profile of each request by host.
	Dashboards *dashboards.Set
	// Groups resolves groups overage; nil refuses overage users of group allow-lists.
	Groups GroupResolver
	// PassThrough verifies callers' own bearer tokens, by profile name.
	PassThrough map[string]BearerVerifier
	// Logout ends sessions by sid for front-channel logout; nil with the cookie store,
	// which has no server state to end.
	Logout SIDRevoker
	// Codec seals the short-lived sign-in (CSRF) cookies.
	Codec  *session.Codec
	Logger *slog.Logger
	Now    func() time.Time
	// Tracing traces requests and the steps of /auth when it is enabled; nil or disabled
	// installs no tracing middleware at all.
	Tracing *telemetry.Tracing
	// Metrics counts /auth decisions, token cache outcomes, sign-ins and sign-outs; it is
	// served at /metrics here only with metrics.insecureServeOnListen (else on
	// metrics.listen, by cmd/tokengate). Nil: no metrics.
	Metrics *telemetry.Metrics
}

// server carries the dependencies into the route handlers.
type server struct {
	Deps
	redirects forward.RedirectPolicy
	// resealRedirects are the sessions recently sent back to their page to pick up a
	// re-sealed cookie (reseal.go).
	resealRedirects recentRedirects
	signInURL       string       // PublicURL + "/oauth2/start"
	tracer          trace.Tracer // nil when tracing is off
	spanNames       spanNames    // of the server spans, when tracing is on
	// allStepSpans: every /auth gets its three step spans (tracing.stepSpans: always).
	allStepSpans bool
	// seedIDToken caches the sign-in's id_token: only when a profile or the debug page uses
	// it, since an id_token entry per session doubles the token cache (BENCHMARKS.md).
	seedIDToken bool
	// The stores' answers from memory, when they have them and tracing needs them; nil
	// makes every step a span.
	peekSessions sessionPeeker
	peekTokens   tokenPeeker
}

// The forward-auth routes: /auth, and /oauth2/auth for oauth2-proxy's ingress annotations.
const (
	authRoute       = "/auth"
	oauth2AuthRoute = "/oauth2/auth"
)

// New builds the gin engine with every route. It never uses gin.Default: gin's logger prints
// query strings (the callback's code) and its recovery dumps headers (the session cookie).
func New(d Deps) http.Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{
		Deps:         d,
		redirects:    forward.NewRedirectPolicy(d.Config.AllowedRedirectDomains),
		signInURL:    d.Config.PublicURL + "/oauth2/start",
		allStepSpans: d.Config.Tracing.StepSpans == config.StepSpansAlways,
		seedIDToken:  d.Config.Debug.Enabled || usesIDToken(d.Dashboards),
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	s.useTracing(r) // first, so that the log lines of a request carry its trace
	r.Use(recovery(d.Logger), accessLog(d.Logger))

	r.GET(authRoute, s.auth)
	r.HEAD(authRoute, s.auth)
	r.GET(oauth2AuthRoute, s.auth)
	r.HEAD(oauth2AuthRoute, s.auth)
	r.GET("/", s.home) // home.go: the signed-out page, the default post-logout landing
	r.HEAD("/", s.home)
	if d.Config.ForwardAuth.Mode == forward.ModeEnvoy {
		registerEnvoyRoutes(r, s) // envoy.go
	}
	r.GET("/oauth2/start", s.start)
	r.GET("/oauth2/callback", s.callback)
	r.GET("/oauth2/sign_out", s.signOut)
	r.POST("/oauth2/sign_out", s.signOut)
	r.GET("/oauth2/frontchannel_logout", s.frontChannelLogout)
	r.GET("/oauth2/userinfo", s.userinfo)
	r.GET(debugPath, s.debug) // debug.go: 404 unless debug.enabled
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	// The ingress routes this listener: /metrics is here only when the operator says so.
	if d.Metrics != nil && d.Config.Metrics.InsecureServeOnListen {
		r.GET("/metrics", gin.WrapH(d.Metrics.Handler()))
	}
	r.NoRoute(func(c *gin.Context) { s.fail(c, errorf(http.StatusNotFound, "no such endpoint", nil)) })
	r.NoMethod(func(c *gin.Context) { s.fail(c, errorf(http.StatusMethodNotAllowed, "method not allowed", nil)) })
	if s.tracer != nil {
		s.spanNames = newSpanNames(r.Routes())
		if !s.allStepSpans {
			s.peekSessions, _ = d.Sessions.(sessionPeeker)
			s.peekTokens, _ = d.Tokens.(tokenPeeker)
		}
	}
	return r
}

// usesIDToken reports whether a dashboard profile sends the id_token.
func usesIDToken(set *dashboards.Set) bool {
	if set == nil {
		return false
	}
	for _, p := range set.Profiles() {
		if p.Token == dashboards.IDToken {
			return true
		}
	}
	return false
}
