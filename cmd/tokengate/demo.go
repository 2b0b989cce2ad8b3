package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/demo"
	"github.com/tokengate/tokengate/internal/devidp"
	"github.com/tokengate/tokengate/internal/localkube"
	"github.com/tokengate/tokengate/internal/secret"
)

// demoPorts are the localhost ports of the three demo servers. The dashboard and tokengate
// share the host name "localhost", so the session cookie (host-scoped, port-blind) reaches
// both, as a shared cookie domain does in a real cluster.
// sts is the https port of the provider's v1 issuer when the demo runs a real API server.
type demoPorts struct{ idp, auth, dashboard, sts string }

func demoCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ports := demoPorts{}
	fs.StringVar(&ports.idp, "idp-port", "5556", "port of the development identity provider")
	fs.StringVar(&ports.auth, "auth-port", "4180", "port of tokengate")
	fs.StringVar(&ports.dashboard, "dashboard-port", "8080", "port of the sample dashboard")
	fs.StringVar(&ports.sts, "sts-port", "5557", "https port of the provider's v1 token issuer, which the API server trusts")
	tokenLifetime := fs.Duration("token-lifetime", 0, "access token lifetime (0 = random 60-90 minutes, like Entra)")
	kube := fs.String("kube", "auto", "a real kube-apiserver and etcd from bin/ (make kube): auto, required or off")
	debugPage := fs.Bool("debug", true, "serve tokengate's debug page, /oauth2/debug (decoded claims and each dashboard's decision, never a token)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	bins, what, err := kubeChoice(*kube)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	d, err := startDemo(demoOptions{ports: ports, tokenLifetime: *tokenLifetime, kube: bins, debugPage: *debugPage}, logger)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\ntokengate demo: starting with %s.\n", what)
	return d.run(ctx, func() { fmt.Fprint(stdout, d.banner()) })
}

// banner says where to go and, above all, whose verdict the page shows.
func (d *runningDemo) banner() string {
	check := "The dashboard calls the real Kubernetes API server as the user and shows what it\n  answered: kubectl auth whoami, and the pods of namespace team-b (RBAC: platform-admins\n  are cluster-admin, developers read team-b, everyone else nothing)."
	if d.kube == nil {
		check = "No Kubernetes API server runs: the dashboard checks the token locally, as AKS\n  would, and says so. For a real API server's verdict run make kube once, then make demo."
	}
	debugLine := ""
	if d.debugURL != "" {
		debugLine = "  tokengate's debug page (decoded claims, each dashboard's decision): " + d.debugURL + "\n"
	}
	return fmt.Sprintf(`
tokengate demo is running.

  Open %s
  Sign in with password "password" as
    alice    platform-admins
    bob      developers
    guest    a guest (B2B) account: no upn, AKS names her by object id
    many     200 groups, the most a token holds
    overage  250 groups: the token carries the groups overage claim instead

  The dashboard shows the bearer token it received (audience %s).
  %s
  "Explain this token" shows what tokengate doctor --token says about it.
%s  Ctrl-C stops the demo.

`, d.dashboardURL, config.AKSServerAppID, check, debugLine)
}

// runningDemo is the three servers of `tokengate demo`.
type runningDemo struct {
	app          *app
	kube         *demoKube // nil without a real API server
	dashboard    *demo.Dashboard
	tokenURL     string // the provider's token endpoint, for the cluster's control token
	debugURL     string // tokengate's debug page, "" when off
	clientSecret string
	listeners    map[string]net.Listener
	servers      map[string]*http.Server
	dashboardURL string
	idp          *devidp.Provider
}

// demoOptions are what the demo's flags choose.
type demoOptions struct {
	ports         demoPorts
	tokenLifetime time.Duration       // 0: random 60-90 minutes, like Entra
	kube          *localkube.Binaries // nil: no real API server
	debugPage     bool                // serve /oauth2/debug
}

func startDemo(o demoOptions, logger *slog.Logger) (*runningDemo, error) {
	ports, tokenLifetime, bins := o.ports, o.tokenLifetime, o.kube
	d := &runningDemo{listeners: map[string]net.Listener{}, servers: map[string]*http.Server{}}
	outbound := &http.Client{Timeout: 5 * time.Second}
	stsURL := ""
	if bins != nil {
		k, err := newDemoKube(*bins, ports.sts)
		if err != nil {
			return nil, err
		}
		d.kube, d.listeners["sts"], stsURL, outbound = k, k.sts, k.stsURL(), k.client()
	}
	for name, port := range map[string]string{"idp": ports.idp, "auth": ports.auth, "dashboard": ports.dashboard} {
		ln, err := net.Listen("tcp", net.JoinHostPort("localhost", port))
		if err != nil {
			d.closeListeners()
			return nil, fmt.Errorf("demo %s server: listen on localhost:%s: %w (choose another with --%s-port)", name, port, err, name)
		}
		d.listeners[name] = ln
	}
	urlOf := func(name string) string {
		return "http://localhost:" + fmt.Sprint(d.listeners[name].Addr().(*net.TCPAddr).Port)
	}
	authURL, dashboardURL := urlOf("auth"), urlOf("dashboard")
	d.dashboardURL = dashboardURL + "/"

	clientSecret := randomKey()
	provider, err := devidp.New(devidp.Config{
		BaseURL:             urlOf("idp"),
		STSBaseURL:          stsURL,
		AccessTokenLifetime: tokenLifetime,
		Clients: []devidp.Client{{
			ID: "tokengate-demo", Secret: clientSecret,
			RedirectURIs:           []string{authURL + "/oauth2/callback"},
			PostLogoutRedirectURIs: []string{dashboardURL + "/"},
		}},
	})
	if err != nil {
		d.closeListeners()
		return nil, fmt.Errorf("development identity provider: %w", err)
	}
	d.idp = provider
	d.tokenURL, d.clientSecret = urlOf("idp")+"/"+provider.TenantID()+"/oauth2/v2.0/token", clientSecret

	cfg := config.Defaults()
	cfg.PublicURL = authURL
	// The dashboard's own port: a redirect entry without one allows only port 80.
	cfg.AllowedRedirectDomains = []string{strings.TrimPrefix(dashboardURL, "http://")}
	cfg.Provider.IssuerURL = provider.Issuer()
	cfg.Provider.ClientID = "tokengate-demo"
	cfg.Provider.ClientSecret = secret.String(clientSecret)
	cfg.Cookie.Secrets = []secret.String{secret.String(randomKey())}
	cfg.ForwardAuth.Mode = "traefik"
	cfg.Headers.PassGroups = true
	cfg.Debug.Enabled = o.debugPage
	if o.debugPage {
		d.debugURL = authURL + "/oauth2/debug"
	}
	if err := cfg.Validate(); err != nil {
		d.closeListeners()
		return nil, fmt.Errorf("demo configuration: %w", err)
	}
	a, err := newApp(&cfg, logger, time.Now, &http.Client{Timeout: cfg.Provider.Timeout, Transport: outbound.Transport})
	if err != nil {
		d.closeListeners()
		return nil, err
	}
	d.app = a
	d.dashboard = &demo.Dashboard{
		AccessTokenIssuer: provider.AccessTokenIssuer(),
		GroupName:         provider.GroupName,
		SignOutURL:        authURL + "/oauth2/sign_out?rd=" + dashboardURL + "/",
		HTTPClient:        outbound,
	}
	d.servers["idp"] = demoServer(provider.Handler())
	if d.kube != nil {
		d.servers["sts"] = demoServer(provider.Handler())
	}
	d.servers["dashboard"] = demoServer(demo.NewForwardAuthProxy(authURL+"/auth", d.dashboard))
	return d, nil
}

// run serves until ctx ends. tokengate itself runs through app.serve, as in production. With
// a real API server, the dashboard starts serving only once that server accepts tokens, and
// ready (the banner) is called after that.
func (d *runningDemo) run(ctx context.Context, ready func()) error {
	errs := make(chan error, len(d.servers)+1)
	serve := func(name string) {
		srv, ln := d.servers[name], d.listeners[name]
		go func() { errs <- srv.Serve(ln) }() // ends at Shutdown below
	}
	serve("idp")
	if d.kube != nil {
		serve("sts")
	}
	appCtx, stopApp := context.WithCancel(ctx)
	go func() { errs <- d.app.serve(appCtx, d.listeners["auth"]) }()

	err := d.startKube(ctx)
	if err == nil {
		serve("dashboard")
		if ready != nil {
			ready()
		}
		select {
		case <-ctx.Done():
		case err = <-errs:
		}
	}
	stopApp()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, srv := range d.servers {
		_ = srv.Shutdown(shutdownCtx) // the demo is ending; a slow client is not worth an error
	}
	d.closeListeners() // those never served, such as the dashboard's when the cluster failed
	if d.kube != nil {
		err = errors.Join(err, d.kube.stop())
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// startKube starts the real API server, if any, and hands it to the dashboard.
func (d *runningDemo) startKube(ctx context.Context) error {
	if d.kube == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := d.kube.start(ctx, d.idp, d.tokenURL, "tokengate-demo", d.clientSecret); err != nil {
		return err
	}
	d.dashboard.APIServer = d.kube.cluster
	d.dashboard.APIServerName = localkube.Version + " at " + d.kube.cluster.URL
	return nil
}

func (d *runningDemo) closeListeners() {
	for _, ln := range d.listeners {
		ln.Close()
	}
}

func demoServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
}

// randomKey is a fresh 32-byte key in base64: the demo's cookie key and client secret.
func randomKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms (Go 1.24+)
	return base64.StdEncoding.EncodeToString(b)
}
