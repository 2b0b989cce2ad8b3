package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/tokengate/tokengate/dashboards"
	"github.com/tokengate/tokengate/handlers"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/telemetry"
	"github.com/tokengate/tokengate/session"
)

func serveCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "path of the YAML configuration file")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	cfg, err := config.Load(*configPath, os.Environ())
	if err != nil {
		return invalidConfig(err)
	}
	logger, err := telemetry.NewLogger(cfg.Log.Level, cfg.Log.Format, stderr)
	if err != nil {
		return usageErr("%w", err)
	}
	tracing, err := telemetry.NewTracing(ctx, version, stderr)
	if err != nil {
		return usageErr("%w", err)
	}
	a, err := newAppWith(cfg, logger, time.Now, &http.Client{Timeout: cfg.Provider.Timeout}, tracing)
	if err != nil {
		return errors.Join(err, tracing.Shutdown(ctx))
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err == nil && cfg.Metrics.Listen != "" {
		if a.metricsLn, err = net.Listen("tcp", cfg.Metrics.Listen); err != nil {
			ln.Close()
		}
	}
	if err != nil {
		a.tokens.Close()
		a.store.close()
		a.closeTelemetry(ctx)
		return fmt.Errorf("listen: %w", err)
	}
	logger.Info("tokengate listening", "version", version, "address", ln.Addr().String(), "public_url", cfg.PublicURL,
		"metrics", a.metricsAddr(ln), "tracing", tracing.Exporters)
	return a.serve(ctx, ln)
}

// app is one running tokengate: the identity-provider client, the token cache and the
// HTTP surface, wired from a validated configuration.
type app struct {
	cfg     *config.Config
	logger  *slog.Logger
	idp     *idp.Client
	tokens  *session.TokenCache
	store   *sessionBackend
	handler http.Handler
	obs     *observability
	// metricsLn, when set, serves /metrics apart from handler (metrics.listen).
	metricsLn net.Listener
	// draining is set at SIGTERM: /readyz answers 503 from then on, while the listener
	// keeps serving for shutdownDelay, so load balancers stop sending before it closes.
	draining *atomic.Bool
}

// newApp wires tokengate with tracing off. outbound makes every call to the identity provider
// and must carry a timeout.
func newApp(cfg *config.Config, logger *slog.Logger, now func() time.Time, outbound *http.Client) (*app, error) {
	return newAppWith(cfg, logger, now, outbound, nil)
}

// newAppWith is newApp with tracing (nil: off). Metrics are always on.
func newAppWith(cfg *config.Config, logger *slog.Logger, now func() time.Time, outbound *http.Client, tracing *telemetry.Tracing) (*app, error) {
	profiles, err := dashboards.New(cfg)
	if err != nil {
		return nil, invalidConfig(err)
	}
	obs, err := newObservability(tracing, profiles)
	if err != nil {
		return nil, err
	}
	outbound = obs.instrument(outbound)
	keys, err := cfg.CookieKeys()
	if err != nil {
		return nil, usageErr("%w", err)
	}
	codec, err := session.NewCodec(keys, now)
	if err != nil {
		return nil, fmt.Errorf("cookie codec: %w", err)
	}
	clientAuth, err := clientAuthOf(cfg.Provider)
	if err != nil {
		return nil, err
	}
	client, err := idp.New(idp.Config{
		IssuerURL:    cfg.Provider.IssuerURL,
		ClientID:     cfg.Provider.ClientID,
		ClientSecret: cfg.Provider.ClientSecret,
		AuthMethod:   cfg.Provider.ClientAuthMethod,
		ClientAuth:   clientAuth,
		RedirectURL:  cfg.RedirectURL(),
		SignInScopes: cfg.SignInScopes(),
		HTTPClient:   outbound,
		Now:          now,
		// OIDC Core 3.1.3.7: other audiences and iat in the future.
		TrustedAudiences: cfg.Provider.TrustedAudiences,
		ClockSkew:        cfg.Provider.ClockSkew,
	})
	if err != nil {
		return nil, err
	}
	budget := cacheBudget(context.Background(), cfg, logger)
	backend, err := newSessionBackend(cfg, codec, logger, now, tracing, obs.metrics, budget.OpenedCacheBytes)
	if err != nil {
		return nil, err
	}
	if backend.activeSessions != nil {
		if err := obs.metrics.ObserveActiveSessions(backend.activeSessions); err != nil {
			backend.close()
			return nil, err
		}
	}
	provider := obs.traced(client)
	// Refreshes, not sign-ins, are limited: they are what an undersized cache multiplies.
	limited, err := session.NewLimitedRefresher(provider, session.LimitOptions{
		Rate: float64(cfg.Token.IdPCallsPerSecond), Burst: cfg.Token.IdPBurst, Now: now, Logger: logger,
	})
	if err != nil {
		backend.close()
		return nil, fmt.Errorf("token endpoint limit: %w", err)
	}
	tokens, err := session.NewTokenCache(limited, session.CacheOptions{
		SafetyMargin:   cfg.Token.SafetyMargin,
		RefreshAhead:   cfg.Token.RefreshAhead,
		InlineRefresh:  cfg.Provider.RefreshTokenReuseDetection,
		MaxBytes:       budget.TokenCacheBytes,
		RefreshTimeout: cfg.Provider.Timeout,
		Now:            now,
		Logger:         logger,
		Shared:         backend.shared,
	})
	if err != nil {
		backend.close()
		return nil, fmt.Errorf("token cache: %w", err)
	}
	if err := obs.metrics.ObserveTokenCache(func() telemetry.TokenCacheCounts {
		cs, ls := tokens.Stats(), limited.Stats()
		return telemetry.TokenCacheCounts{Evictions: cs.Evictions, Rejections: cs.Rejections, Refetches: cs.Refetches,
			LimitedCalls: ls.Rejected, ProviderThrottled: ls.Throttled}
	}); err != nil {
		tokens.Close()
		backend.close()
		return nil, err
	}
	store := backend.sessions
	draining := new(atomic.Bool)
	// Users in more than 200 groups: their memberships come from Graph, with a Graph token
	// from the same refresh token, cached per session for a few minutes.
	groups := session.NewGroupResolver(tokens, idp.NewGraphClient(cfg.Provider.GraphURL, outbound), idp.GraphScope, 5*time.Minute, now)
	h := handlers.New(handlers.Deps{
		Config: cfg, IdP: provider, Ready: readiness(draining, client, backend),
		Sessions: store, Tokens: tokens, Logout: backend.revoker,
		Dashboards: profiles, Groups: groups, PassThrough: passThroughVerifiers(profiles, outbound, now, cfg.Provider.ClockSkew),
		Codec: codec, Logger: logger, Now: now, Tracing: tracing, Metrics: obs.metrics,
	})
	return &app{cfg: cfg, logger: logger, idp: client, tokens: tokens, store: backend, handler: h, obs: obs, draining: draining}, nil
}

// serve runs until ctx ends, then drains in-flight requests and stops background work.
func (a *app) serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
	}
	discoveryDone := make(chan struct{})
	discoverCtx, stopDiscovery := context.WithCancel(ctx)
	go func() {
		defer close(discoveryDone)
		a.discoverUntilReady(discoverCtx)
	}()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	stopMetrics := a.serveMetrics()

	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
		a.draining.Store(true)
		a.logger.Info("shutting down: not ready; closing the listener after shutdownDelay",
			slog.Duration("shutdownDelay", a.cfg.ShutdownDelay))
		time.Sleep(a.cfg.ShutdownDelay) // the process is ending: nothing else to wait for
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
		err = srv.Shutdown(shutdownCtx)
		cancel()
	}
	stopDiscovery()
	<-discoveryDone
	stopMetrics()
	a.tokens.Close()
	a.store.close()
	a.closeTelemetry(ctx)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// discoverUntilReady loads the provider metadata, retrying with backoff: tokengate starts
// (liveness true, readiness false) even when the provider is briefly unreachable.
func (a *app) discoverUntilReady(ctx context.Context) {
	delay := 500 * time.Millisecond
	for {
		callCtx, cancel := context.WithTimeout(ctx, a.cfg.Provider.Timeout)
		err := a.idp.Discover(callCtx)
		cancel()
		if err == nil {
			a.logger.Info("identity provider discovered", "issuer", a.cfg.Provider.IssuerURL)
			return
		}
		a.logger.Warn("identity provider discovery failed; retrying", "error", err, "retry_in", delay.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, 30*time.Second)
	}
}

// passThroughVerifiers builds one bearer verifier per profile that accepts callers' own
// tokens.
func passThroughVerifiers(profiles *dashboards.Set, outbound *http.Client, now func() time.Time, skew time.Duration) map[string]handlers.BearerVerifier {
	out := map[string]handlers.BearerVerifier{}
	for _, p := range profiles.Profiles() {
		if len(p.BearerPassThrough) > 0 {
			v := idp.NewBearerVerifier(p.BearerPassThrough, outbound, now)
			v.ClockSkew = skew
			out[p.Name] = v
		}
	}
	return out
}

// readiness is /readyz's check: not shutting down, discovery loaded and the session store
// answering.
func readiness(draining *atomic.Bool, client *idp.Client, backend *sessionBackend) func() error {
	return func() error {
		if draining.Load() {
			return errors.New("shutting down")
		}
		if !client.Ready() {
			return errors.New("identity provider discovery not loaded")
		}
		if err := backend.ready(); errors.Is(err, session.ErrStoreAuth) {
			return session.ErrStoreAuth // the cause, never the reply text, which names the user
		} else if err != nil {
			return errors.New("session store unreachable")
		}
		return nil
	}
}
