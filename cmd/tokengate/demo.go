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
	"github.com/tokengate/tokengate/internal/secret"
)

// demoPorts are the localhost ports of the three demo servers. The dashboard and tokengate
// share the host name "localhost", so the session cookie (host-scoped, port-blind) reaches
// both, as a shared cookie domain does in a real cluster.
type demoPorts struct{ idp, auth, dashboard string }

func demoCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ports := demoPorts{}
	fs.StringVar(&ports.idp, "idp-port", "5556", "port of the development identity provider")
	fs.StringVar(&ports.auth, "auth-port", "4180", "port of tokengate")
	fs.StringVar(&ports.dashboard, "dashboard-port", "8080", "port of the sample dashboard")
	tokenLifetime := fs.Duration("token-lifetime", 0, "access token lifetime (0 = random 60-90 minutes, like Entra)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	d, err := startDemo(ports, *tokenLifetime, logger)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `
tokengate demo is running.

  Open %s
  Sign in with password "password" as
    alice    platform-admins
    bob      developers
    guest    a guest (B2B) account: no upn, AKS names her by object id
    many     200 groups, the most a token holds
    overage  250 groups: the token carries the groups overage claim instead

  The dashboard shows the bearer token it received (audience %s)
  and checks it as the AKS API server would; "Explain this token" shows what
  tokengate doctor --token says about it. Ctrl-C stops the demo.

`, d.dashboardURL, config.AKSServerAppID)
	return d.run(ctx)
}

// runningDemo is the three servers of `tokengate demo`.
type runningDemo struct {
	app          *app
	listeners    map[string]net.Listener
	servers      map[string]*http.Server
	dashboardURL string
	idp          *devidp.Provider
}

func startDemo(ports demoPorts, tokenLifetime time.Duration, logger *slog.Logger) (*runningDemo, error) {
	d := &runningDemo{listeners: map[string]net.Listener{}, servers: map[string]*http.Server{}}
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
	if err := cfg.Validate(); err != nil {
		d.closeListeners()
		return nil, fmt.Errorf("demo configuration: %w", err)
	}
	a, err := newApp(&cfg, logger, time.Now, &http.Client{Timeout: cfg.Provider.Timeout})
	if err != nil {
		d.closeListeners()
		return nil, err
	}
	d.app = a
	dashboard := &demo.Dashboard{
		AccessTokenIssuer: provider.AccessTokenIssuer(),
		GroupName:         provider.GroupName,
		SignOutURL:        authURL + "/oauth2/sign_out?rd=" + dashboardURL + "/",
		HTTPClient:        &http.Client{Timeout: 5 * time.Second},
	}
	d.servers["idp"] = demoServer(provider.Handler())
	d.servers["dashboard"] = demoServer(demo.NewForwardAuthProxy(authURL+"/auth", dashboard))
	return d, nil
}

// run serves until ctx ends. tokengate itself runs through app.serve, as in production.
func (d *runningDemo) run(ctx context.Context) error {
	errs := make(chan error, 3)
	for _, name := range []string{"idp", "dashboard"} {
		srv, ln := d.servers[name], d.listeners[name]
		go func() { errs <- srv.Serve(ln) }()
	}
	appCtx, stopApp := context.WithCancel(ctx)
	go func() { errs <- d.app.serve(appCtx, d.listeners["auth"]) }()

	var err error
	select {
	case <-ctx.Done():
	case err = <-errs:
	}
	stopApp()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, srv := range d.servers {
		_ = srv.Shutdown(shutdownCtx) // the demo is ending; a slow client is not worth an error
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
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
