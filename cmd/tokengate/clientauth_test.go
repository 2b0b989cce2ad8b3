package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/internal/browser"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/demo"
	"github.com/tokengate/tokengate/internal/devidp"
	"github.com/tokengate/tokengate/internal/testfix"
)

const (
	clusterIssuer  = "https://oidc.aks.example/cluster-1/"
	serviceAccount = "system:serviceaccount:tokengate:tokengate"
)

// wiHarness is a harness whose app registration has no client secret, only a federated
// credential for the pod's service account, and whose tokengate is configured the way the
// workload identity webhook leaves a pod: AZURE_* variables and a projected token file.
type wiHarness struct {
	*harness
	clusterKey *ecdsa.PrivateKey
	tokenFile  string
	issued     *tokenRecorder
}

// wiOptions adjust a wiHarness.
type wiOptions struct {
	env       []string // more variables for config.Load
	consented []string // the registration's ConsentedResources
}

// tokenRecorder passes requests to the provider and keeps every token its token endpoint
// issued and every client assertion it was sent, so tests can search output for them.
type tokenRecorder struct {
	next http.Handler
	mu   sync.Mutex
	seen []string
}

func (r *tokenRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if !strings.HasSuffix(req.URL.Path, "/oauth2/v2.0/token") {
		r.next.ServeHTTP(w, req)
		return
	}
	_ = req.ParseForm()
	rec := httptest.NewRecorder()
	r.next.ServeHTTP(rec, req)
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	r.mu.Lock()
	r.seen = append(r.seen, req.PostForm.Get("client_assertion"), req.PostForm.Get("code"), req.PostForm.Get("refresh_token"))
	for _, k := range []string{"access_token", "refresh_token", "id_token"} {
		if v, ok := body[k].(string); ok {
			r.seen = append(r.seen, v)
		}
	}
	r.mu.Unlock()
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// values are the non-empty credentials seen so far.
func (r *tokenRecorder) values() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, v := range r.seen {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// project writes a federated token with the given jti into the token file, as the kubelet
// does when it rotates the projected token.
func (h *wiHarness) project(jti string) string {
	h.t.Helper()
	tok := testfix.Federated{Issuer: clusterIssuer, Subject: serviceAccount, Audience: devidp.DefaultFederatedAudience,
		ID: jti, IssuedAt: h.clock.Now()}.Sign(h.t, h.clusterKey, jose.ES256)
	if err := os.WriteFile(h.tokenFile, []byte(tok), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return tok
}

func newWorkloadIdentityHarness(t *testing.T, opts wiOptions) *wiHarness {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h := &wiHarness{
		harness:    &harness{t: t, clock: newTestClock(), upstream: &upstreamRecorder{}, logs: &syncBuffer{}},
		clusterKey: key,
		tokenFile:  filepath.Join(t.TempDir(), "azure-identity-token"),
	}
	idpSrv := httptest.NewServer(nil)
	t.Cleanup(idpSrv.Close)
	for _, s := range []**httptest.Server{&h.auth, &h.dashboard} {
		*s = httptest.NewUnstartedServer(nil)
		(*s).Config.ErrorLog = log.New(io.Discard, "", 0)
		(*s).StartTLS()
		t.Cleanup((*s).Close)
	}
	h.idp, err = devidp.New(devidp.Config{
		BaseURL: idpSrv.URL, AccessTokenLifetime: testTokenLifetime, Now: h.clock.Now,
		Clients: []devidp.Client{{
			ID:                 testClientID,
			RedirectURIs:       []string{h.auth.URL + "/oauth2/callback"},
			ConsentedResources: opts.consented,
			FederatedCredentials: []devidp.FederatedCredential{
				{Issuer: clusterIssuer, Subject: serviceAccount, Key: &key.PublicKey},
			},
		}},
	})
	if err != nil {
		t.Fatalf("devidp.New: %v", err)
	}
	h.issued = &tokenRecorder{next: h.idp.Handler()}
	idpSrv.Config.Handler = h.issued
	h.project("projected-1")

	h.cfg, err = config.Load("", append(opts.env,
		"TOKENGATE_PUBLIC_URL="+h.auth.URL,
		// The dashboard's port: an entry without one allows only the default port.
		"TOKENGATE_ALLOWED_REDIRECT_DOMAINS="+strings.TrimPrefix(h.dashboard.URL, "https://"),
		"TOKENGATE_COOKIE_SECRETS="+base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"TOKENGATE_PROVIDER_CLIENT_AUTH=workloadIdentity",
		"AZURE_CLIENT_ID="+testClientID,
		"AZURE_TENANT_ID="+h.idp.TenantID(),
		"AZURE_AUTHORITY_HOST="+idpSrv.URL+"/",
		"AZURE_FEDERATED_TOKEN_FILE="+h.tokenFile,
	))
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if h.app, err = newApp(h.cfg, logger, h.clock.Now, &http.Client{Timeout: 5 * time.Second}); err != nil {
		t.Fatalf("newApp: %v", err)
	}
	if err := h.app.idp.Discover(t.Context()); err != nil {
		t.Fatalf("discover: %v", err)
	}
	t.Cleanup(h.app.tokens.Close)
	h.auth.Config.Handler = h.app.handler
	proxy := demo.NewForwardAuthProxy(h.auth.URL+"/auth", h.upstream)
	proxy.Client.Transport = h.auth.Client().Transport
	h.dashboard.Config.Handler = proxy
	h.browser = browser.New(h.auth.Client().Transport)
	return h
}

// tokengate signs users in with no client secret anywhere.
func TestWorkloadIdentitySignIn(t *testing.T) {
	h := newWorkloadIdentityHarness(t, wiOptions{})
	if p := h.cfg.Provider; !p.ClientSecret.IsEmpty() || p.ClientSecretFile != "" || p.IssuerURL != h.idp.Issuer() || p.ClientID != testClientID {
		t.Fatalf("config: secret set %v, file %q, issuer %q, client %q; want no secret and the AZURE_* values",
			!p.ClientSecret.IsEmpty(), p.ClientSecretFile, p.IssuerURL, p.ClientID)
	}
	h.signIn("alice")
	first, claims := h.bearer()
	if claims["aud"] != config.AKSServerAppID || claims["appid"] != testClientID || claims["appidacr"] != "2" {
		t.Errorf("aud, appid, appidacr = %v, %v, %v; want the AKS app, %s, 2 (client assertion)", claims["aud"], claims["appid"], claims["appidacr"], testClientID)
	}

	// The kubelet rotates the token; the refresh after expiry must present the new one.
	h.clock.Advance(testTokenLifetime + time.Minute)
	rotated := h.project("projected-2")
	page := h.authRequest(nil)
	if page.Status != http.StatusOK || page.Header.Get("Authorization") == "Bearer "+first {
		t.Fatalf("/auth after expiry = %d, same token %v; want 200 with a refreshed token", page.Status, page.Header.Get("Authorization") == "Bearer "+first)
	}
	if got := h.idp.AcceptedAssertions(); !slices.Equal(got, []string{"projected-1", "projected-2"}) {
		t.Errorf("provider saw federated tokens %v; want [projected-1 projected-2]", got)
	}
	if strings.Contains(h.logs.String(), rotated) {
		t.Error("the logs contain the federated token")
	}
}

// An expired projected token (the kubelet stopped rotating it) is an operator problem:
// /auth answers 503 with that diagnosis, and the session survives.
func TestWorkloadIdentityExpiredToken(t *testing.T) {
	h := newWorkloadIdentityHarness(t, wiOptions{})
	h.signIn("alice")
	h.clock.Advance(2 * time.Hour) // past the access token and the projected token
	page := h.authRequest(nil)
	if page.Status != http.StatusServiceUnavailable || !strings.Contains(string(page.Body), "client credentials") {
		t.Fatalf("/auth = %d %q; want 503 naming the client credentials", page.Status, page.Body)
	}
	if !strings.Contains(h.logs.String(), "AADSTS700024") {
		t.Errorf("logs do not name AADSTS700024:\n%s", h.logs.String())
	}
	h.project("projected-3")
	if page := h.authRequest(nil); page.Status != http.StatusOK {
		t.Errorf("/auth after the token file was renewed = %d; want 200 (the session was kept)", page.Status)
	}
}
