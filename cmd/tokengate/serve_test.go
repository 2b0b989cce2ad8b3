package main

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/devidp"
	"github.com/tokengate/tokengate/internal/secret"
)

// Liveness holds while the provider is unreachable; readiness follows discovery, which is
// retried in the background; at shutdown readiness drops while the listener still serves
// for shutdownDelay, and an in-flight request finishes.
func TestServeReadinessAndGracefulShutdown(t *testing.T) {
	idpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	idpURL := "http://" + idpLn.Addr().String()
	idpLn.Close() // nothing listens yet: discovery fails until the provider starts

	provider, err := devidp.New(devidp.Config{BaseURL: idpURL, Clients: []devidp.Client{{ID: "c", Secret: "s", RedirectURIs: []string{"http://127.0.0.1/cb"}}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.PublicURL = "http://127.0.0.1"
	cfg.Provider.IssuerURL = provider.Issuer()
	cfg.Provider.ClientID, cfg.Provider.ClientSecret = "c", "s"
	cfg.Cookie.Secrets = []secret.String{secret.String(base64.StdEncoding.EncodeToString(make([]byte, 32)))}
	cfg.ShutdownDelay = 2 * time.Second
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := newApp(&cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now, &http.Client{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	slowUserinfo := make(chan struct{})
	inner := a.handler
	a.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(slowUserinfo)
			time.Sleep(300 * time.Millisecond)
			io.WriteString(w, "finished")
			return
		}
		inner.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- a.serve(ctx, ln) }()

	status := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor(t, "server up", func() bool { return status("/healthz") == http.StatusOK })
	if got := status("/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("readyz with the provider down = %d; want 503", got)
	}

	idpLn, err = net.Listen("tcp", idpLn.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	idpSrv := &httptest.Server{Listener: idpLn, Config: &http.Server{Handler: provider.Handler()}}
	idpSrv.Start()
	defer idpSrv.Close()
	waitFor(t, "readiness after the provider starts", func() bool { return status("/readyz") == http.StatusOK })

	body := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			body <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body <- string(b)
	}()
	<-slowUserinfo
	cancel()
	// Within shutdownDelay the listener still answers, and readiness says to go elsewhere.
	waitFor(t, "readiness to drop at shutdown", func() bool { return status("/readyz") == http.StatusServiceUnavailable })
	if got := status("/healthz"); got != http.StatusOK {
		t.Errorf("healthz during shutdownDelay = %d; want 200 (the listener is still open)", got)
	}
	if got := <-body; got != "finished" {
		t.Errorf("in-flight request during shutdown got %q; want it to finish", got)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("serve returned %v; want nil after a graceful shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after shutdown")
	}
}
