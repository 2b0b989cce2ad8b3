package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// meterName is the instrumentation scope of tokengate's own instruments.
const meterName = "github.com/tokengate/tokengate"

// Decision is what /auth answered, as the decision label of tokengate_auth_requests_total
// and the tokengate.decision span attribute.
type Decision uint8

// Decisions of /auth.
const (
	// Allow is a 200: signed in, admitted, token handed out.
	Allow Decision = iota
	// Deny is a 403: the profile's policy (or no profile) refused a signed-in user.
	Deny
	// Unauthenticated is a 401 or the redirect to sign-in: no usable session.
	Unauthenticated
	// Error is everything else: bad forward headers, identity provider unavailable, bugs.
	Error
	numDecisions
)

var decisionNames = [numDecisions]string{"allow", "deny", "unauthenticated", "error"}

// String names the decision for labels and span attributes.
func (d Decision) String() string {
	if d < numDecisions {
		return decisionNames[d]
	}
	return fmt.Sprintf("decision(%d)", int(d))
}

// NoProfile is the profile label of an /auth request whose host matched no dashboard.
const NoProfile = "none"

// CacheOutcomes are the outcome label values of tokengate_token_cache_lookups_total: how the
// token cache produced a token (session.Outcome's names), or "miss" when it could not.
var CacheOutcomes = []string{"hit", "refresh_ahead", "refreshed", "stale", "miss"}

// Metrics is tokengate's meter provider, exported to Prometheus, and the instruments it
// records. Its methods are safe for concurrent use, and a nil *Metrics records nothing.
//
// The /auth hot path allocates nothing to record: the attribute sets of every known
// (profile, decision) and cache outcome are built once, here.
type Metrics struct {
	provider *sdkmetric.MeterProvider
	handler  http.Handler

	authRequests metric.Int64ObservableCounter
	authDuration metric.Float64Histogram
	cacheLookups metric.Int64ObservableCounter
	idpRequests  metric.Int64Counter
	idpDuration  metric.Float64Histogram
	signIns      metric.Int64Counter
	signOuts     metric.Int64Counter

	// The two counters of every /auth are plain atomics, read when Prometheus scrapes: an
	// SDK Add looks its attribute set up in a map on every call, which made metrics cost
	// more than the 3% of /auth throughput the metrics budget allows.
	auth       map[string]*authSeries // by profile name, built at start, read-only after
	cache      map[string]*cacheSeries
	lateSeries sync.Map // profile or outcome name → *authSeries or *cacheSeries, not known at start
}

// authSeries are the /auth counts and histogram attributes of one profile.
type authSeries struct {
	count [numDecisions]atomic.Int64
	sets  [numDecisions]attribute.Set
	ms    [numDecisions]measurement
}

// cacheSeries counts one token cache outcome.
type cacheSeries struct {
	count atomic.Int64
	set   attribute.Set
}

// measurement is one pre-built attribute set in the two option types the API wants.
type measurement struct {
	add    []metric.AddOption
	record []metric.RecordOption
}

func newMeasurement(attrs ...attribute.KeyValue) measurement {
	opt := metric.WithAttributeSet(attribute.NewSet(attrs...))
	return measurement{add: []metric.AddOption{opt}, record: []metric.RecordOption{opt}}
}

// Buckets in seconds. /auth answers from the cache in tens of microseconds and waits for the
// identity provider for tens or hundreds of milliseconds, so the default OpenTelemetry
// buckets (0–10000, meant for milliseconds) would put everything in the first one.
var (
	authBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	idpBuckets  = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
)

// NewMetrics builds the meter provider with its own Prometheus registry (plus the Go runtime
// and process collectors) and tokengate's instruments. profiles are the dashboard profile
// names, whose attribute sets are built up front.
func NewMetrics(version string, profiles []string) (*Metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	m := &Metrics{
		provider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp)),
		// OpenMetrics when the scraper asks for it (Prometheus does by default): it carries
		// the exemplars the SDK keeps while tracing is on, the trace id of a recent request
		// per /auth latency bucket, so a slow bucket in Grafana opens a trace of it.
		handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}),
	}
	if err := m.instruments(version); err != nil {
		return nil, err
	}
	m.auth = make(map[string]*authSeries, len(profiles)+1)
	for _, p := range append([]string{NoProfile}, profiles...) {
		m.auth[p] = newAuthSeries(p)
	}
	m.cache = make(map[string]*cacheSeries, len(CacheOutcomes))
	for _, o := range CacheOutcomes {
		m.cache[o] = newCacheSeries(o)
	}
	if err := m.observeCounters(); err != nil {
		return nil, err
	}
	return m, nil
}

// instruments creates every instrument. Names follow the OpenTelemetry conventions; the
// exporter turns them into Prometheus names (tokengate.auth.requests with unit {request}
// becomes tokengate_auth_requests_total, tokengate.auth.duration in s
// tokengate_auth_duration_seconds).
func (m *Metrics) instruments(version string) error {
	meter := m.provider.Meter(meterName)
	var errs [8]error
	m.authRequests, errs[0] = meter.Int64ObservableCounter("tokengate.auth.requests",
		metric.WithUnit("{request}"), metric.WithDescription("Forward-auth requests answered, by decision and dashboard profile."))
	m.authDuration, errs[1] = meter.Float64Histogram("tokengate.auth.duration",
		metric.WithUnit("s"), metric.WithDescription("Time to answer a forward-auth request."),
		metric.WithExplicitBucketBoundaries(authBuckets...))
	m.cacheLookups, errs[2] = meter.Int64ObservableCounter("tokengate.token_cache.lookups",
		metric.WithUnit("{lookup}"), metric.WithDescription("Token cache lookups by outcome: hit, refresh_ahead, refreshed, stale, miss."))
	m.idpRequests, errs[3] = meter.Int64Counter("tokengate.idp.requests",
		metric.WithUnit("{request}"), metric.WithDescription("Calls to the identity provider by endpoint and outcome."))
	m.idpDuration, errs[4] = meter.Float64Histogram("tokengate.idp.request.duration",
		metric.WithUnit("s"), metric.WithDescription("Time until the identity provider's answer headers arrived."),
		metric.WithExplicitBucketBoundaries(idpBuckets...))
	m.signIns, errs[5] = meter.Int64Counter("tokengate.sign_ins",
		metric.WithUnit("{sign_in}"), metric.WithDescription("Completed sign-ins."))
	m.signOuts, errs[6] = meter.Int64Counter("tokengate.sign_outs",
		metric.WithUnit("{sign_out}"), metric.WithDescription("Sign-outs of a live session."))
	var build metric.Int64Gauge
	build, errs[7] = meter.Int64Gauge("tokengate.build_info",
		metric.WithDescription("Always 1; the labels name the running build."))
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("create instruments: %w", err)
		}
	}
	build.Record(context.Background(), 1, metric.WithAttributes(
		attribute.String("version", version), attribute.String("goversion", runtime.Version())))
	return nil
}

func newAuthSeries(profile string) *authSeries {
	a := &authSeries{}
	for d := range numDecisions {
		a.sets[d] = attribute.NewSet(attribute.String("decision", d.String()), attribute.String("profile", profile))
		a.ms[d] = measurement{record: []metric.RecordOption{metric.WithAttributeSet(a.sets[d])}}
	}
	return a
}

func newCacheSeries(outcome string) *cacheSeries {
	return &cacheSeries{set: attribute.NewSet(attribute.String("outcome", outcome))}
}

// observeCounters reports the atomic counters at every collection.
func (m *Metrics) observeCounters() error {
	meter := m.provider.Meter(meterName)
	_, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		observe := func(a *authSeries) {
			for d := range numDecisions {
				if n := a.count[d].Load(); n > 0 {
					o.ObserveInt64(m.authRequests, n, metric.WithAttributeSet(a.sets[d]))
				}
			}
		}
		for _, a := range m.auth {
			observe(a)
		}
		for _, c := range m.cache {
			if n := c.count.Load(); n > 0 {
				o.ObserveInt64(m.cacheLookups, n, metric.WithAttributeSet(c.set))
			}
		}
		m.lateSeries.Range(func(_, v any) bool {
			switch s := v.(type) {
			case *authSeries:
				observe(s)
			case *cacheSeries:
				if n := s.count.Load(); n > 0 {
					o.ObserveInt64(m.cacheLookups, n, metric.WithAttributeSet(s.set))
				}
			}
			return true
		})
		return nil
	}, m.authRequests, m.cacheLookups)
	if err != nil {
		return fmt.Errorf("register counter callback: %w", err)
	}
	return nil
}

// Handler serves the Prometheus text exposition of every instrument.
func (m *Metrics) Handler() http.Handler { return m.handler }

// MeterProvider is the provider the instruments live in, for instrumentation libraries.
func (m *Metrics) MeterProvider() metric.MeterProvider { return m.provider }

// Shutdown stops the meter provider; /metrics answers empty afterwards.
func (m *Metrics) Shutdown(ctx context.Context) error {
	if m == nil {
		return nil
	}
	if err := m.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down the meter provider: %w", err)
	}
	return nil
}

// AuthRequest records one /auth answer for profile (NoProfile when no dashboard matched).
func (m *Metrics) AuthRequest(ctx context.Context, profile string, d Decision, elapsed time.Duration) {
	if m == nil || d >= numDecisions {
		return
	}
	a, ok := m.auth[profile]
	if !ok {
		// A profile not named at start: rare, so looked up in a sync.Map.
		v, _ := m.lateSeries.LoadOrStore("profile\x00"+profile, newAuthSeries(profile))
		a = v.(*authSeries)
	}
	a.count[d].Add(1)
	m.authDuration.Record(ctx, elapsed.Seconds(), a.ms[d].record...)
}

// CacheLookup records one token cache lookup by outcome, one of CacheOutcomes.
func (m *Metrics) CacheLookup(ctx context.Context, outcome string) {
	if m == nil {
		return
	}
	c, ok := m.cache[outcome]
	if !ok {
		v, _ := m.lateSeries.LoadOrStore("outcome\x00"+outcome, newCacheSeries(outcome))
		c = v.(*cacheSeries)
	}
	c.count.Add(1)
}

// SignIn records a completed sign-in.
func (m *Metrics) SignIn(ctx context.Context) {
	if m != nil {
		m.signIns.Add(ctx, 1)
	}
}

// SignOut records the sign-out of a live session.
func (m *Metrics) SignOut(ctx context.Context) {
	if m != nil {
		m.signOuts.Add(ctx, 1)
	}
}

// ObserveActiveSessions adds the gauge tokengate_sessions_active, read from count at every
// scrape (the Redis store's index of live sessions). A failed count reports nothing rather
// than a wrong number.
func (m *Metrics) ObserveActiveSessions(count func(context.Context) (int64, error)) error {
	if m == nil {
		return nil
	}
	_, err := m.provider.Meter(meterName).Int64ObservableGauge("tokengate.sessions.active",
		metric.WithUnit("{session}"), metric.WithDescription("Signed-in sessions in the Redis store that have not ended."),
		metric.WithInt64Callback(func(ctx context.Context, o metric.Int64Observer) error {
			n, err := count(ctx)
			if err != nil {
				return nil // Redis down: no sample; the store's own errors are logged elsewhere
			}
			o.Observe(n)
			return nil
		}))
	if err != nil {
		return fmt.Errorf("create the active sessions gauge: %w", err)
	}
	return nil
}
