package localkube

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// startTimeout bounds the start of etcd and of kube-apiserver, each. The API server is ready
// in about 4 s on an idle machine; a busy CI runner with two cores needs far more.
const startTimeout = 90 * time.Second

// Config is what a cluster is started with.
type Config struct {
	// Binaries are the programs to run (FindBinaries).
	Binaries Binaries
	// Dir is the cluster's working directory (data, keys, logs); it must exist. The caller
	// removes it.
	Dir string
	// CA signs the API server's certificates. The caller usually signs its identity
	// provider's certificate with the same CA, since the API server must trust it.
	CA *CA
	// Auth is the structured authentication; without issuers only the admin's client
	// certificate authenticates.
	Auth AuthConfig
}

// Cluster is a running etcd and kube-apiserver.
type Cluster struct {
	// URL is the API server, https://127.0.0.1:<port>.
	URL string
	// Admin is an HTTP client for URL that presents a system:masters client certificate.
	Admin *http.Client
	// AuthConfig is the AuthenticationConfiguration the API server loaded.
	AuthConfig []byte

	user     *http.Client // trusts the CA, presents no certificate
	ca       *CA
	etcd     *process
	apiserve *process
}

// Start runs etcd and kube-apiserver on free loopback ports and returns once /readyz
// answers 200 (RBAC's bootstrap roles included). On error nothing is left running.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	c := &Cluster{ca: cfg.CA}
	if len(cfg.Auth.Entra)+len(cfg.Auth.Structured) > 0 {
		var err error
		if c.AuthConfig, err = cfg.Auth.YAML(); err != nil {
			return nil, err
		}
	}
	etcdURL, err := c.startEtcd(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := c.startAPIServer(ctx, cfg, etcdURL); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) startEtcd(ctx context.Context, cfg Config) (string, error) {
	client, peer := freePort(), freePort()
	if client == 0 || peer == 0 {
		return "", errors.New("etcd: no free loopback port")
	}
	clientURL := "http://" + hostPort(client)
	peerURL := "http://" + hostPort(peer)
	var err error
	c.etcd, err = startProcess(cfg.Dir, "etcd", cfg.Binaries.Etcd,
		"--name", "localkube", "--data-dir", filepath.Join(cfg.Dir, "etcd-data"),
		"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "localkube="+peerURL,
		// A throwaway store: no fsync, and quiet logs.
		"--unsafe-no-fsync", "--log-level", "warn")
	if err != nil {
		return "", err
	}
	probe := &http.Client{Timeout: 2 * time.Second}
	err = waitReady(ctx, c.etcd, func() error { return get200(probe, clientURL+"/health") })
	if err != nil {
		_ = c.etcd.stop()
		c.etcd = nil
		return "", err
	}
	return clientURL, nil
}

func (c *Cluster) startAPIServer(ctx context.Context, cfg Config, etcdURL string) error {
	files, err := c.writeFiles(cfg.Dir)
	if err != nil {
		return err
	}
	port := freePort()
	if port == 0 {
		return errors.New("kube-apiserver: no free loopback port")
	}
	c.URL = "https://" + hostPort(port)
	args := []string{"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(port),
		"--advertise-address", "127.0.0.1",
		// Without it the API server refuses a loopback advertise address: it would publish
		// 127.0.0.1 as the kubernetes Service's endpoint.
		"--endpoint-reconciler-type", "none",
		"--service-cluster-ip-range", "10.96.0.0/24",
		"--tls-cert-file", files.serverCert, "--tls-private-key-file", files.serverKey,
		"--client-ca-file", files.ca,
		"--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", files.saPub, "--service-account-signing-key-file", files.saKey,
		"--enable-priority-and-fairness=false", "--profiling=false", "--v=1"}
	if c.AuthConfig != nil {
		args = append(args, "--authentication-config", files.auth)
	}
	c.apiserve, err = startProcess(cfg.Dir, "kube-apiserver", cfg.Binaries.APIServer, args...)
	if err != nil {
		return err
	}
	ready := func() error { return get200(c.Admin, c.URL+"/readyz") }
	return waitReady(ctx, c.apiserve, ready)
}

type clusterFiles struct{ ca, serverCert, serverKey, saKey, saPub, auth string }

// writeFiles writes the CA, the serving pair, the service-account key and the
// authentication config into dir, and sets up the admin client.
func (c *Cluster) writeFiles(dir string) (clusterFiles, error) {
	f := clusterFiles{ca: filepath.Join(dir, "ca.crt"), saKey: filepath.Join(dir, "sa.key"), saPub: filepath.Join(dir, "sa.pub"),
		auth: filepath.Join(dir, "authentication.yaml")}
	if err := os.WriteFile(f.ca, c.ca.PEM(), 0o644); err != nil {
		return f, fmt.Errorf("write CA: %w", err)
	}
	if c.AuthConfig != nil {
		if err := os.WriteFile(f.auth, c.AuthConfig, 0o600); err != nil {
			return f, fmt.Errorf("write authentication config: %w", err)
		}
	}
	serving, err := c.ca.ServerCert("kubernetes", "kubernetes.default.svc")
	if err != nil {
		return f, err
	}
	if f.serverCert, f.serverKey, err = writeKeyPair(dir, "apiserver", serving); err != nil {
		return f, err
	}
	sa, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return f, fmt.Errorf("service-account key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(sa)
	if err != nil {
		return f, fmt.Errorf("marshal service-account key: %w", err)
	}
	if err := os.WriteFile(f.saKey, pemBlock("PRIVATE KEY", der), 0o600); err != nil {
		return f, fmt.Errorf("write service-account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&sa.PublicKey)
	if err != nil {
		return f, fmt.Errorf("marshal service-account public key: %w", err)
	}
	if err := os.WriteFile(f.saPub, pemBlock("PUBLIC KEY", pub), 0o644); err != nil {
		return f, fmt.Errorf("write service-account public key: %w", err)
	}
	admin, err := c.ca.ClientCert("localkube-admin", "system:masters")
	if err != nil {
		return f, err
	}
	c.Admin = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: c.ca.Pool(), Certificates: []tls.Certificate{admin}, MinVersion: tls.VersionTLS12},
	}}
	c.user = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: c.ca.Pool(), MinVersion: tls.VersionTLS12},
	}}
	return f, nil
}

// Stop stops kube-apiserver, then etcd, each by its own process group.
func (c *Cluster) Stop() error {
	var errs []error
	if c.apiserve != nil {
		errs = append(errs, c.apiserve.stop())
	}
	if c.etcd != nil {
		errs = append(errs, c.etcd.stop())
	}
	return errors.Join(errs...)
}

// Logs returns the end of both servers' logs, for a failure message.
func (c *Cluster) Logs() string {
	var s string
	for _, p := range []*process{c.etcd, c.apiserve} {
		if p != nil {
			s += "--- end of " + p.name + " log ---\n" + p.tail() + "\n"
		}
	}
	return s
}

// waitReady polls ready every 100ms until it succeeds, the process exits, ctx ends or
// startTimeout passes.
func waitReady(ctx context.Context, p *process, ready func() error) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before it was ready (%v):\n%s", p.name, p.err, p.tail())
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %v (%w):\n%s", p.name, err, ctx.Err(), p.tail())
		case <-tick.C:
		}
	}
}

func get200(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return nil
}

// freePort returns a loopback port that was free a moment ago, or 0. The servers bind it
// themselves, so a clash shows up as a start failure with the port in the log.
func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
