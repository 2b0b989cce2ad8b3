package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/redistest"
)

// TestKubeAcrossRefresh keeps a dashboard calling the API server across several access-token
// lifetimes of seconds: every call is 200, tokengate refreshes without a new sign-in, and
// each new token is one the API server accepts. After sign-out the next call is refused.
func TestKubeAcrossRefresh(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the stream takes 15 s of real time")
	}
	t.Parallel()
	const (
		streamFor = 2*shortLifetime + 3*time.Second
		every     = 250 * time.Millisecond
	)
	env := sharedKube(t)
	s := newKubeStack(t, env, kubeStackOptions{Tenant: shortTenant, Profiles: kubeProfiles,
		SafetyMargin: time.Second, RefreshAhead: 2 * time.Second})
	idp := env.tenants[shortTenant]
	b := s.newBrowser()
	s.signIn(b, https(headlamp, "/"), "bob")
	signIns, refreshes := idp.AuthorizeCalls(), idp.TokenCalls("refresh_token")

	start := time.Now()
	for i := 0; time.Since(start) < streamFor; i++ {
		if got, body := kubeCall(t, b, headlamp, http.MethodGet, listTeamPods, ""); got != http.StatusOK {
			t.Fatalf("call %d at +%s: got %d; want 200\n%s", i, time.Since(start).Round(time.Millisecond), got, snippet([]byte(body)))
		}
		time.Sleep(every) // pacing the dashboard's traffic, not waiting for an expiry
	}
	if got := idp.AuthorizeCalls(); got != signIns {
		t.Errorf("sign-ins during the stream: %d; want none", got-signIns)
	}
	if got := idp.TokenCalls("refresh_token") - refreshes; got < 2 {
		t.Errorf("refreshes during %s of %s tokens: %d; want at least 2", streamFor, shortLifetime, got)
	}
	if got := len(s.dashboard.Tokens()); got < 3 {
		t.Errorf("distinct tokens the API server accepted: %d; want at least 3 (one per lifetime)", got)
	}

	page, err := b.Navigate("https://auth.example.test/oauth2/sign_out?rd=" + url.QueryEscape(https(headlamp, "/")))
	mustf(t, err, "sign out")
	if !isLoginForm(page) {
		t.Errorf("sign-out ended at %s (%d); want the login form; hops %v", page.URL, page.Status, hops(b))
	}
	// ingress-nginx turns tokengate's 401 into its 302 to sign-in, XHR included.
	forwarded := len(s.dashboard.Tokens())
	if got, _ := kubeCall(t, b, headlamp, http.MethodGet, listTeamPods, ""); got != http.StatusFound {
		t.Errorf("call after sign-out: got %d; want 302 to sign in again", got)
	}
	if got := len(s.dashboard.Tokens()); got != forwarded {
		t.Errorf("the dashboard received a token after sign-out")
	}
}

// TestKubeRedisReplicas runs two tokengate replicas on one Redis store: the user signs in
// through NGINX and replica A, and replica B, asked by NGINX for the same session, hands out
// a token the API server accepts for the same user.
func TestKubeRedisReplicas(t *testing.T) {
	t.Parallel()
	env := sharedKube(t)
	redis := redistest.Start(t)
	store := []string{"TOKENGATE_SESSION_STORE=redis", "TOKENGATE_REDIS_URL=" + redis.URL()}
	s := newKubeStack(t, env, kubeStackOptions{Tenant: aksTenant, Profiles: kubeProfiles, Env: store})
	b := s.newBrowser()
	s.signIn(b, https(headlamp, "/"), "alice")
	if got, _ := kubeCall(t, b, headlamp, http.MethodGet, listNamespaces, ""); got != http.StatusOK {
		t.Fatalf("GET %s through replica A: got %d; want 200", listNamespaces, got)
	}

	replicaB, _ := startTokengate(t, t.TempDir(), e2eClientSecret, tokengateOptions{
		IssuerURL: s.idp.Issuer(), ClientID: e2eClientID, Mode: "ingress-nginx",
		SafetyMargin: time.Minute, RefreshAhead: 5 * time.Minute, Dashboards: kubeProfiles,
		Env: append([]string{"SSL_CERT_FILE=" + env.caFile, "TOKENGATE_COOKIE_SECRET_FILES=" + s.cookieKeyFile}, store...),
	})
	token := authAnswer(t, b.Client.Jar, replicaB, https(headlamp, listNamespaces))
	who, status, err := env.cluster.WhoAmI(t.Context(), token)
	mustf(t, err, "whoami with replica B's token")
	if status != http.StatusCreated || who.Username != "alice@contoso.example" {
		t.Errorf("replica B's token: got %d %q; want 201 alice@contoso.example", status, who.Username)
	}
	resp, err := env.cluster.AsUser(t.Context(), token, http.MethodGet, listNamespaces, nil)
	mustf(t, err, "list namespaces with replica B's token")
	if resp.Status != http.StatusOK {
		t.Errorf("GET %s with replica B's token: got %d; want 200", listNamespaces, resp.Status)
	}
}

// authAnswer asks a tokengate's /auth what NGINX would for original, with the browser's
// cookies, and returns the bearer token it answered.
func authAnswer(t *testing.T, jar http.CookieJar, tokengate, original string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, tokengate+"/auth", nil)
	mustf(t, err, "auth request")
	req.Header.Set("X-Original-URL", original)
	req.Header.Set("X-Original-Method", http.MethodGet)
	req.Header.Set("X-Sent-From", "nginx-ingress-controller")
	u, err := url.Parse(original)
	mustf(t, err, "original URL")
	for _, c := range jar.Cookies(u) {
		req.AddCookie(c)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	mustf(t, err, "GET /auth")
	resp.Body.Close()
	token, ok := bearer(resp.Header.Get("Authorization"))
	if resp.StatusCode != http.StatusOK || !ok {
		t.Fatalf("/auth answered %d with a bearer: %v; want 200 with one", resp.StatusCode, ok)
	}
	return token
}

func bearer(h string) (string, bool) {
	tok, ok := strings.CutPrefix(h, "Bearer ")
	return tok, ok && tok != ""
}
