package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/devidp"
	"github.com/tokengate/tokengate/internal/localkube"
)

// Tenants of the development identity provider the shared cluster trusts. Each is its own
// issuer, because the API server's authenticators are fixed when it starts.
const (
	// aksTenant is Entra with AKS-managed integration: the API server trusts its v1
	// access-token issuer only, so its id_tokens are refused.
	aksTenant = devidp.DefaultTenantID
	// shortTenant is the same with access tokens that live seconds, for refresh scenarios.
	shortTenant = "5407e000-0000-4000-8000-000000005407"
	// oidcTenant stands for a non-Entra issuer under AKS structured authentication: the API
	// server trusts its id_tokens (audience e2eClientID) and maps them to aks:jwt:.
	oidcTenant = "0f1dc000-0000-4000-8000-00000000f1dc"

	// shortLifetime is shortTenant's access-token lifetime.
	shortLifetime = 6 * time.Second
	// authenticatorWait bounds the wait for the API server's JWT authenticators to load their
	// issuer's discovery and keys.
	authenticatorWait = 60 * time.Second
)

// kubeEnv is the cluster and identity provider every Kubernetes scenario of the package
// shares: starting kube-apiserver costs seconds of two busy cores, so it starts once.
type kubeEnv struct {
	dir     string
	cluster *localkube.Cluster
	ca      *localkube.CA
	caFile  string // the CA's PEM, for tokengate's SSL_CERT_FILE
	idpSrv  *httptest.Server
	tenants map[string]*devidp.Provider // by tenant id
	pool    *x509.CertPool              // the browser's trust: the proxies' test CA and this CA
	key     *rsa.PrivateKey             // every tenant's signing key, for hand-made tokens
}

// kubeShared is started by the first Kubernetes scenario and stopped by TestMain.
var kubeShared struct {
	once sync.Once
	env  *kubeEnv
	err  error
}

// sharedKube returns the shared cluster, starting it on first use. Missing binaries skip the
// test with the command that builds them, or fail it under E2E=required.
func sharedKube(t *testing.T) *kubeEnv {
	t.Helper()
	bins, err := localkube.FindBinaries()
	if err != nil {
		missing(t, err.Error())
	}
	kubeShared.once.Do(func() { kubeShared.env, kubeShared.err = startKube(bins) })
	if kubeShared.err != nil {
		t.Fatalf("shared Kubernetes cluster: %v", kubeShared.err)
	}
	return kubeShared.env
}

// stopKube stops the shared cluster if a scenario started it.
func stopKube() {
	if e := kubeShared.env; e != nil {
		if err := e.cluster.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: stop cluster: %v\n", err)
		}
		e.idpSrv.Close()
		os.RemoveAll(e.dir)
	}
}

func startKube(bins localkube.Binaries) (env *kubeEnv, err error) {
	e := &kubeEnv{tenants: map[string]*devidp.Provider{}}
	if e.dir, err = os.MkdirTemp("", "tokengate-kube-"); err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(e.dir)
		}
	}()
	if e.ca, err = localkube.NewCA(time.Now); err != nil {
		return nil, err
	}
	if err := e.startProvider(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e.cluster, err = localkube.Start(ctx, localkube.Config{Binaries: bins, Dir: e.dir, CA: e.ca, Auth: e.authConfig()})
	if err != nil {
		e.idpSrv.Close()
		return nil, fmt.Errorf("start etcd and kube-apiserver: %w", err)
	}
	if err := e.prepare(ctx); err != nil {
		e.cluster.Stop()
		e.idpSrv.Close()
		return nil, fmt.Errorf("%w\n%s", err, e.cluster.Logs())
	}
	return e, nil
}

// startProvider serves the three tenants over https with a certificate of the cluster's CA:
// the API server fetches an issuer's discovery only over https.
func (e *kubeEnv) startProvider() error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	e.key = key
	cert, err := e.ca.ServerCert()
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	e.idpSrv = httptest.NewUnstartedServer(mux)
	e.idpSrv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	e.idpSrv.StartTLS()
	for _, tc := range []struct {
		tenant   string
		lifetime time.Duration
	}{{aksTenant, time.Hour}, {shortTenant, shortLifetime}, {oidcTenant, time.Hour}} {
		p, err := devidp.New(devidp.Config{
			BaseURL: e.idpSrv.URL, TenantID: tc.tenant, AccessTokenLifetime: tc.lifetime, SigningKey: key,
			Clients: []devidp.Client{{
				ID: e2eClientID, Secret: e2eClientSecret,
				RedirectURIs:           []string{"https://auth.example.test/oauth2/callback"},
				PostLogoutRedirectURIs: []string{"https://" + headlamp + "/", "https://" + grafana + "/"},
			}},
		})
		if err != nil {
			e.idpSrv.Close()
			return fmt.Errorf("devidp tenant %s: %w", tc.tenant, err)
		}
		mux.Handle("/"+tc.tenant+"/", p.Handler())
		e.tenants[tc.tenant] = p
	}
	e.pool = testPKI.Pool.Clone()
	e.pool.AppendCertsFromPEM(e.ca.PEM())
	e.caFile = filepath.Join(e.dir, "localkube-ca.crt")
	return os.WriteFile(e.caFile, e.ca.PEM(), 0o644)
}

// authConfig is the cluster's AuthenticationConfiguration: AKS's Entra mapping for the two
// Entra tenants, AKS structured authentication for the other.
func (e *kubeEnv) authConfig() localkube.AuthConfig {
	ca := e.ca.PEM()
	return localkube.AuthConfig{
		Entra: []localkube.Issuer{
			{URL: e.tenants[aksTenant].AccessTokenIssuer(), CAPEM: ca},
			{URL: e.tenants[shortTenant].AccessTokenIssuer(), CAPEM: ca},
		},
		Structured: []localkube.StructuredIssuer{{
			Issuer:   localkube.Issuer{URL: e.tenants[oidcTenant].Issuer(), CAPEM: ca},
			Audience: e2eClientID, TenantID: oidcTenant,
		}},
	}
}

// prepare applies the RBAC fixture and waits until both Entra authenticators accept an
// app-only control token, so no scenario mistakes their start-up for a refusal.
func (e *kubeEnv) prepare(ctx context.Context) error {
	if err := e.cluster.ApplyRBAC(ctx, localkube.RBACGroups{Admins: devidp.GroupPlatformAdmins, Team: devidp.GroupDevelopers}); err != nil {
		return err
	}
	for _, tenant := range []string{aksTenant, shortTenant} {
		tok, err := e.appToken(ctx, tenant)
		if err != nil {
			return err
		}
		if _, err := e.cluster.WaitAccepted(ctx, tok, authenticatorWait); err != nil {
			return fmt.Errorf("authenticator for tenant %s: %w", tenant, err)
		}
	}
	return nil
}

// appToken gets an app-only access token for the AKS server app from tenant with the client
// credentials grant: a token the API server accepts once its authenticator is ready.
func (e *kubeEnv) appToken(ctx context.Context, tenant string) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {e2eClientID},
		"client_secret": {e2eClientSecret}, "scope": {config.AKSServerAppID + "/.default"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.idpSrv.URL+"/"+tenant+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("control token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := e.idpClient().Do(req)
	if err != nil {
		return "", fmt.Errorf("control token: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK || body.AccessToken == "" {
		return "", errors.Join(fmt.Errorf("control token: status %d", resp.StatusCode), err)
	}
	return body.AccessToken, nil
}

// idpClient reaches the provider, trusting the cluster's CA that signed its certificate.
func (e *kubeEnv) idpClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{RootCAs: e.ca.Pool(), MinVersion: tls.VersionTLS12}}}
}
