package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"

	"github.com/tokengate/tokengate/dashboards"
	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/secret"
	"github.com/tokengate/tokengate/internal/telemetry"
)

// observability is what one tokengate process reports: traces (off unless the OTEL_*
// environment asks for them) and metrics (always on).
type observability struct {
	tracing *telemetry.Tracing
	metrics *telemetry.Metrics
}

// newObservability adds the metrics, with an attribute set per dashboard profile, to tracing
// (nil: off).
func newObservability(tracing *telemetry.Tracing, profiles *dashboards.Set) (*observability, error) {
	var names []string
	for _, p := range profiles.Profiles() {
		names = append(names, p.Name)
	}
	metrics, err := telemetry.NewMetrics(version, names)
	if err != nil {
		return nil, err
	}
	return &observability{tracing: tracing, metrics: metrics}, nil
}

// instrument returns a copy of client whose calls are counted by endpoint and outcome and,
// when tracing is on, traced as client spans carrying the traceparent.
func (o *observability) instrument(client *http.Client) *http.Client {
	c := *client
	c.Transport = o.metrics.IdPTransport(c.Transport)
	if o.tracing.Enabled() {
		c.Transport = otelhttp.NewTransport(c.Transport,
			otelhttp.WithTracerProvider(o.tracing.Provider),
			otelhttp.WithPropagators(o.tracing.Propagator),
			// tokengate_idp_* already counts these calls; keep one series per fact.
			otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()))
	}
	return &c
}

// shutdown flushes buffered spans and stops the meter provider.
func (o *observability) shutdown(ctx context.Context) error {
	return errors.Join(o.tracing.Shutdown(ctx), o.metrics.Shutdown(ctx))
}

// identityProvider is what tokengate asks of the provider client: the sign-in endpoints' half
// and the token cache's refresh.
type identityProvider interface {
	AuthCodeURL(state, nonce, verifier string) (string, error)
	Exchange(ctx context.Context, code, verifier, nonce string) (*idp.SignIn, error)
	EndSessionURL(postLogout string) string
	Refresh(ctx context.Context, refreshToken secret.String, scope string) (idp.Token, error)
}

var _ identityProvider = tracedIdP{}

// traced wraps client in spans when tracing is on; off, it is client itself.
func (o *observability) traced(client *idp.Client) identityProvider {
	if !o.tracing.Enabled() {
		return client
	}
	return tracedIdP{Client: client, tracer: o.tracing.Provider.Tracer("github.com/tokengate/tokengate/internal/idp")}
}

// tracedIdP puts a span around the two calls that spend something: a code redemption and a
// refresh. Their HTTP requests (otelhttp) are its children. No token, code or verifier is
// ever an attribute; errors from internal/idp carry the OAuth error code and Entra's first
// description line only.
type tracedIdP struct {
	*idp.Client
	tracer trace.Tracer
}

// Exchange implements handlers.IdentityProvider.
func (t tracedIdP) Exchange(ctx context.Context, code, verifier, nonce string) (*idp.SignIn, error) {
	ctx, span := t.tracer.Start(ctx, "idp.exchange")
	defer span.End()
	signIn, err := t.Client.Exchange(ctx, code, verifier, nonce)
	endIdPSpan(span, err)
	return signIn, err
}

// Refresh implements session.Refresher.
func (t tracedIdP) Refresh(ctx context.Context, refreshToken secret.String, scope string) (idp.Token, error) {
	ctx, span := t.tracer.Start(ctx, "idp.refresh", trace.WithAttributes(attribute.String("tokengate.token.scope", scope)))
	defer span.End()
	tok, err := t.Client.Refresh(ctx, refreshToken, scope)
	if err == nil {
		span.SetAttributes(attribute.Bool("tokengate.refresh_token.rotated", !tok.RefreshToken.IsEmpty()))
	}
	endIdPSpan(span, err)
	return tok, err
}

// endIdPSpan records a failed call with the kind of failure the caller acts on.
func endIdPSpan(span trace.Span, err error) {
	if err == nil {
		return
	}
	kind := "other"
	switch {
	case errors.Is(err, idp.ErrInvalidGrant):
		kind = "invalid_grant"
	case errors.Is(err, idp.ErrConsentRequired):
		kind = "consent_required"
	case errors.Is(err, idp.ErrInvalidClient):
		kind = "invalid_client"
	case errors.Is(err, idp.ErrVerification):
		kind = "verification"
	case errors.Is(err, idp.ErrUnavailable):
		kind = "unavailable"
	}
	span.SetAttributes(attribute.String("tokengate.idp.error", kind))
	span.RecordError(err)
	span.SetStatus(codes.Error, "identity provider call failed: "+kind)
}

// serveMetrics serves /metrics on metrics.listen, when it is set, until the returned stop is
// called. The main listener serves /metrics only with metrics.insecureServeOnListen
// (handlers.New).
func (a *app) serveMetrics() (stop func()) {
	if a.metricsLn == nil {
		return func() {}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.obs.metrics.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(a.metricsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.logger.Error("metrics listener failed", "error", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx) // a scrape cut short is retried by Prometheus
		<-done
	}
}

// metricsAddr says where /metrics is served, for the start-up log.
func (a *app) metricsAddr(main net.Listener) string {
	switch {
	case a.metricsLn != nil:
		return a.metricsLn.Addr().String()
	case a.cfg.Metrics.InsecureServeOnListen:
		return main.Addr().String() + " (the main listener: metrics.insecureServeOnListen)"
	}
	return "not served (set metrics.listen)"
}

// closeTelemetry flushes the spans still buffered, with a fresh timeout: ctx is usually
// already cancelled by the signal that stops tokengate.
func (a *app) closeTelemetry(ctx context.Context) {
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := a.obs.shutdown(flushCtx); err != nil {
		a.logger.Warn("telemetry did not shut down cleanly", "error", err)
	}
}
