package idp

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/devidp"
)

// A provider that echoes the request into its error answer must not get a credential into
// our error text (which logs and spans carry) nor into the description a page may show:
// every client authentication, every token call, JSON and HTML answers.
func TestProviderEchoStaysOutOfErrors(t *testing.T) {
	auths := []struct {
		name string
		cfg  Config
	}{
		{name: "secret post", cfg: Config{ClientSecret: clientSecret, AuthMethod: AuthClientSecretPost, ClientAuth: ClientAuthConfig{Mode: ClientAuthSecret}}},
		{name: "secret basic", cfg: Config{ClientSecret: clientSecret, AuthMethod: AuthClientSecretBasic, ClientAuth: ClientAuthConfig{Mode: ClientAuthSecret}}},
		{name: "certificate", cfg: Config{ClientAuth: ClientAuthConfig{Mode: ClientAuthCertificate, Algorithm: AlgRS256, PrivateKey: testKeys().client}}},
	}
	for _, auth := range auths {
		for _, mode := range []devidp.EchoMode{devidp.EchoJSON, devidp.EchoHTML} {
			t.Run(auth.name+map[devidp.EchoMode]string{devidp.EchoJSON: " json", devidp.EchoHTML: " html"}[mode], func(t *testing.T) {
				f := newAuthFixture(t, withCertificate(t, auth.cfg))
				verifier := strings.Repeat("v", 43)
				code := f.code(t, "alice", "nonce-1", verifier)
				signIn, err := f.client.Exchange(t.Context(), f.code(t, "alice", "nonce-1", verifier), verifier, "nonce-1")
				if err != nil {
					t.Fatalf("sign-in before the echo: %v", err)
				}
				f.idp.SetEcho(mode)
				credentials := []string{clientSecret, code, verifier, signIn.Token.RefreshToken.Reveal()}
				_, exchangeErr := f.client.Exchange(t.Context(), code, verifier, "nonce-1")
				_, refreshErr := f.client.Refresh(t.Context(), signIn.Token.RefreshToken, aksScope)
				probeErr := f.client.ProbeClientCredentials(t.Context(), "6dae42f8-4368-4678-94ff-3960e28e3630")
				for name, err := range map[string]error{"exchange": exchangeErr, "refresh": refreshErr, "probe": probeErr} {
					var pe *ProviderError
					if !errors.As(err, &pe) {
						t.Fatalf("%s: err = %v; want a *ProviderError", name, err)
					}
					if mode == devidp.EchoJSON && (pe.Code != "invalid_grant" || pe.AADSTS != 50000 || !strings.Contains(err.Error(), "AADSTS50000")) {
						t.Errorf("%s: err = %q; want invalid_grant AADSTS50000 kept", name, err)
					}
					for _, text := range []string{err.Error(), pe.Description, pe.TraceID, pe.CorrelationID} {
						for _, c := range credentials {
							if strings.Contains(text, c) {
								t.Errorf("%s: a credential (ends …%s) reached %q", name, c[len(c)-4:], text)
							}
						}
						if strings.Contains(text, "eyJ") || strings.Contains(strings.ToLower(text), "client_assertion") {
							t.Errorf("%s: the client assertion reached %q", name, text)
						}
					}
				}
			})
		}
	}
}

// go-oidc appends the answer's body to its discovery and key set errors; a body quoting a
// credential must not reach our error text.
func TestDiscoveryAndKeyErrorsCarryNoBody(t *testing.T) {
	const leaked = "client_secret=hunter2-sekrit-Value-9Q"
	tests := []struct {
		name   string
		status int
		ctype  string
		body   string
	}{
		{name: "discovery 500 html", status: 500, ctype: "text/html", body: "<html>" + leaked + "</html>"},
		{name: "discovery 404 text", status: 404, ctype: "text/plain", body: leaked},
		{name: "discovery 200 not json", status: 200, ctype: "text/plain", body: leaked},
		{name: "discovery 200 json echo", status: 200, ctype: "application/json", body: `{"issuer":"` + leaked + `"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c, err := New(Config{IssuerURL: srv.URL, ClientID: clientID, ClientSecret: clientSecret,
				AuthMethod: AuthClientSecretPost, HTTPClient: &http.Client{Timeout: 5 * time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			err = c.Discover(t.Context())
			if err == nil {
				t.Fatal("Discover succeeded; want an error")
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("err = %q; want no part of the answer's body", err)
			}
		})
	}
	t.Run("key set 500 echo", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, leaked)
		}))
		defer srv.Close()
		keys := quietClient(&http.Client{Timeout: 5 * time.Second})
		resp, err := keys.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusInternalServerError || len(body) != 0 {
			t.Errorf("quiet client answer = %d %q; want 500 with no body", resp.StatusCode, body)
		}
	})
}
