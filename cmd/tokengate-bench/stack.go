package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/devidp"
)

// benchClientID is tokengate's app registration at the development identity provider.
const benchClientID = "tokengate-bench"

// tokenLifetime outlives any run by far, so no token reaches its refresh-ahead window and
// every /auth under load is a cache hit, which is what the targets are about.
const tokenLifetime = 12 * time.Hour

// stack is everything one benchmark run starts: the identity provider in this process,
// tokengate as its own process (tracing off), with --tracing a second tokengate process
// with tracing on, and the baseline as another.
type stack struct {
	dir        string
	idp        *devidp.Provider
	idpServer  *http.Server
	authURL    string // http://127.0.0.1:<port>, tokengate's public URL
	tokengate  *process
	tracing    *process // only with --tracing
	tracingURL string   // only with --tracing: http://127.0.0.1:<port> of tracing
	redis      *process // only with --store redis
	// replicas and replicaURLs are the tokengate processes beyond the first (--replicas).
	replicas    []*process
	replicaURLs []string
	otlp        *otlpSink // only with --tracing
}

// startStack starts the identity provider and tokengate (two processes with --tracing),
// and waits until tokengate is ready.
func startStack(ctx context.Context, o options, dir string, stderr io.Writer) (*stack, error) {
	s := &stack{dir: dir}
	authAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s.authURL = "http://" + authAddr
	if err := s.startIDP(); err != nil {
		return nil, err
	}
	bin := o.binary
	if bin == "" {
		bin = filepath.Join(dir, "tokengate")
		fmt.Fprintln(stderr, "building tokengate …")
		if err := buildTokengate(ctx, bin); err != nil {
			s.stop()
			return nil, err
		}
	}
	extraYAML := ""
	if o.store == "redis" {
		if extraYAML, err = s.startRedis(ctx); err != nil {
			s.stop()
			return nil, err
		}
	}
	if o.cacheMaxBytes > 0 {
		extraYAML += fmt.Sprintf("token:\n  cacheMaxBytes: %d\n", o.cacheMaxBytes)
	}
	configPath, err := s.writeConfig(authAddr, extraYAML)
	if err != nil {
		s.stop()
		return nil, err
	}
	var env []string
	if o.memoryLimit != "" {
		env = append(env, "GOMEMLIMIT="+o.memoryLimit)
	}
	s.tokengate, err = startProcessEnv(ctx, tracingOffName, bin, env, "serve", "--config", configPath)
	if err != nil {
		s.stop()
		return nil, err
	}
	if err := waitHealthy(ctx, s.tokengate, s.authURL+"/readyz"); err != nil {
		s.stop()
		return nil, err
	}
	if err := s.startReplicas(ctx, bin, configPath, env, o.replicas); err != nil {
		s.stop()
		return nil, err
	}
	if o.tracing {
		if err := s.startTracingTokengate(ctx, bin, configPath); err != nil {
			s.stop()
			return nil, err
		}
	}
	return s, nil
}

// startIDP serves the development identity provider on a loopback port of this process.
func (s *stack) startIDP() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("identity provider: listen: %w", err)
	}
	secret, err := s.writeSecret("client-secret")
	if err != nil {
		ln.Close()
		return err
	}
	s.idp, err = devidp.New(devidp.Config{
		BaseURL:             "http://" + ln.Addr().String(),
		AccessTokenLifetime: tokenLifetime,
		Clients: []devidp.Client{{
			ID: benchClientID, Secret: secret,
			RedirectURIs: []string{s.authURL + "/oauth2/callback"},
		}},
	})
	if err != nil {
		ln.Close()
		return fmt.Errorf("identity provider: %w", err)
	}
	s.idpServer = &http.Server{
		Handler: s.idp.Handler(), ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0), // connections cut at shutdown
	}
	go s.idpServer.Serve(ln) // ends when stop closes the server
	return nil
}

// writeSecret writes a fresh random key (base64 of 32 bytes) to a 0600 file in the run's
// directory and returns it: tokengate reads its secrets from files, never from flags.
func (s *stack) writeSecret(name string) (string, error) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	v := base64.StdEncoding.EncodeToString(b)
	if err := os.WriteFile(filepath.Join(s.dir, name), []byte(v+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	return v, nil
}

// writeConfig writes tokengate's configuration: the defaults of a production deployment
// (cookie store, default dashboard profile and headers, tracing off) with log level warn,
// so the hot path logs nothing, and Traefik-style forward headers.
func (s *stack) writeConfig(listen, extraYAML string) (string, error) {
	if _, err := s.writeSecret("cookie-secret"); err != nil {
		return "", err
	}
	cfg := fmt.Sprintf(`publicURL: %s
listen: %q
allowedRedirectDomains: [%q]
provider:
  issuerURL: %s
  clientID: %s
  clientSecretFile: %s
cookie:
  secretFiles: [%s]
forwardAuth:
  mode: traefik
log:
  level: warn
%s`, s.authURL, listen, strings.TrimPrefix(s.authURL, "http://"), s.idp.Issuer(), benchClientID,
		filepath.Join(s.dir, "client-secret"), filepath.Join(s.dir, "cookie-secret"), extraYAML)
	path := filepath.Join(s.dir, "tokengate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return "", fmt.Errorf("write tokengate config: %w", err)
	}
	return path, nil
}

// tokenCalls is every call to the identity provider's token endpoint so far.
func (s *stack) tokenCalls() int {
	return s.idp.TokenCalls("authorization_code") + s.idp.TokenCalls("refresh_token")
}

// stop ends the tokengate processes, Redis, the OTLP sink and the identity provider.
func (s *stack) stop() {
	if s.tokengate != nil {
		s.tokengate.stop()
	}
	for _, p := range s.replicas {
		p.stop()
	}
	if s.tracing != nil {
		s.tracing.stop() // before the sink: shutting down exports the spans still queued
	}
	if s.redis != nil {
		s.redis.stop()
	}
	if s.otlp != nil {
		s.otlp.stop()
	}
	if s.idpServer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.idpServer.Shutdown(ctx) // the run is over; a stuck connection is not worth an error
		cancel()
	}
}

// buildTokengate builds the real binary, as `make build` does but with symbols kept, so a
// perf profile names Go functions.
func buildTokengate(ctx context.Context, out string) error {
	gobin := os.Getenv("GO")
	if gobin == "" {
		gobin = "go"
	}
	cmd := exec.CommandContext(ctx, gobin, "build", "-trimpath", "-o", out, "github.com/tokengate/tokengate/cmd/tokengate")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/tokengate (run from the repository): %w\n%s", err, msg)
	}
	return nil
}

// freeAddr returns a loopback address with a port free right now. tokengate must know its
// own URL before it starts (the redirect URI is registered at the identity provider first).
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, nil
}

// waitHealthy polls url until it answers 200, the process dies, or 20 s pass.
func waitHealthy(ctx context.Context, p *process, url string) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if p.exited() {
			return fmt.Errorf("%s exited before it was ready:\n%s", p.name, p.output())
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s not ready at %s after 20s:\n%s", p.name, url, p.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rssKiB reads VmRSS of a process from /proc.
func rssKiB(pid int) (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read RSS: %w", err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kib int
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kib); err != nil {
				return 0, fmt.Errorf("parse VmRSS %q: %w", v, err)
			}
			return kib, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// startRedis runs a throwaway redis-server on loopback (no persistence) and returns the
// configuration that points tokengate's session store at it.
func (s *stack) startRedis(ctx context.Context) (string, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("--store redis needs redis-server: apt-get install -y redis-server")
	}
	addr, err := freeAddr()
	if err != nil {
		return "", err
	}
	_, port, _ := net.SplitHostPort(addr) // freeAddr returns host:port
	s.redis, err = startProcess(ctx, "redis-server", bin, "--bind", "127.0.0.1", "--port", port,
		"--save", "", "--appendonly", "no", "--dir", s.dir)
	if err != nil {
		return "", err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		if s.redis.exited() || time.Now().After(deadline) {
			return "", fmt.Errorf("redis-server not reachable at %s: %w\n%s", addr, err, s.redis.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Sprintf("session:\n  store: redis\nredis:\n  url: redis://%s\n", addr), nil
}
