package devidp

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func TestCodeRedemptionErrors(t *testing.T) {
	tests := []struct {
		name       string
		edit       func(e *env, form url.Values) // changes the otherwise valid redemption
		wantStatus int
		wantErr    string
		wantCode   int
		wantSub    string
	}{
		{name: "wrong verifier", edit: func(_ *env, f url.Values) { f.Set("code_verifier", oauth2.GenerateVerifier()) },
			wantStatus: 400, wantErr: "invalid_grant", wantCode: 501481},
		{name: "missing verifier", edit: func(_ *env, f url.Values) { f.Del("code_verifier") },
			wantStatus: 400, wantErr: "invalid_grant", wantCode: 501481},
		{name: "other redirect_uri", edit: func(_ *env, f url.Values) { f.Set("redirect_uri", "http://127.0.0.1:4180/other") },
			wantStatus: 400, wantErr: "invalid_grant", wantCode: 500112},
		{name: "unknown code", edit: func(_ *env, f url.Values) { f.Set("code", "not-a-code") },
			wantStatus: 400, wantErr: "invalid_grant", wantCode: 70000},
		{name: "expired code", edit: func(e *env, _ url.Values) { e.clock.Advance(10*time.Minute + time.Second) },
			wantStatus: 400, wantErr: "invalid_grant", wantCode: 70008},
		{name: "two resources", edit: func(_ *env, f url.Values) { f.Set("scope", aksDefaultScope+" User.Read") },
			wantStatus: 400, wantErr: "invalid_scope", wantCode: 28000},
		{name: "default mixed with named", edit: func(_ *env, f url.Values) { f.Set("scope", aksDefaultScope+" "+AKSResource+"/user.read") },
			wantStatus: 400, wantErr: "invalid_scope", wantCode: 70011},
		{name: "unconsented resource", edit: func(_ *env, f url.Values) { f.Set("scope", "api://other-app/access_as_user") },
			wantStatus: 400, wantErr: "invalid_grant", wantCode: 65001, wantSub: "consent_required"},
		{name: "bad secret", edit: func(_ *env, f url.Values) { f.Set("client_secret", "wrong") },
			wantStatus: 401, wantErr: "invalid_client", wantCode: 7000215},
		{name: "no secret", edit: func(_ *env, f url.Values) { f.Del("client_secret") },
			wantStatus: 401, wantErr: "invalid_client", wantCode: 7000218},
		{name: "unknown client", edit: func(_ *env, f url.Values) { f.Set("client_id", "99999999-2222-4333-8444-555555555555") },
			wantStatus: 400, wantErr: "unauthorized_client", wantCode: 700016},
		{name: "unsupported grant", edit: func(_ *env, f url.Values) { f.Set("grant_type", "password") },
			wantStatus: 400, wantErr: "unsupported_grant_type", wantCode: 70003},
		{name: "client assertion", edit: func(_ *env, f url.Values) { f.Set("client_assertion", "eyJ.x.y") },
			wantStatus: 401, wantErr: "invalid_client", wantCode: 700027},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			f := e.authorize(t, "alice", signInScopes...)
			form := redeemForm(f, "")
			form.Set("client_id", testClientID)
			form.Set("client_secret", testSecret)
			tt.edit(e, form)
			status, body := e.rawTokenCall(t, form, nil)
			wantEntraError(t, status, body, tt.wantStatus, tt.wantErr, tt.wantCode)
			if got, _ := body["suberror"].(string); got != tt.wantSub {
				t.Errorf("suberror = %q; want %q", got, tt.wantSub)
			}
			for _, secret := range []string{testSecret, f.code, f.verifier} {
				if strings.Contains(body["error_description"].(string), secret) {
					t.Errorf("error_description echoes a secret, code or verifier: %q", body["error_description"])
				}
			}
		})
	}
}

func TestCodeIsSingleUse(t *testing.T) {
	e := newEnv(t, nil)
	f := e.authorize(t, "alice", signInScopes...)
	if status, body := e.tokenCall(t, redeemForm(f, aksDefaultScope)); status != http.StatusOK {
		t.Fatalf("first redemption = %d %v; want 200", status, body["error_description"])
	}
	status, body := e.tokenCall(t, redeemForm(f, aksDefaultScope))
	wantEntraError(t, status, body, 400, "invalid_grant", 54005)
}

func TestClientAuthenticationMethods(t *testing.T) {
	basic := func(id, secret string) func(*http.Request) {
		return func(r *http.Request) {
			r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret))))
		}
	}
	tests := []struct {
		name       string
		form       url.Values // client fields added to the redemption
		header     func(*http.Request)
		wantStatus int
	}{
		{name: "post", form: url.Values{"client_id": {testClientID}, "client_secret": {testSecret}}, wantStatus: 200},
		{name: "basic", header: basic(testClientID, testSecret), wantStatus: 200},
		{name: "basic with matching client_id", form: url.Values{"client_id": {testClientID}}, header: basic(testClientID, testSecret), wantStatus: 200},
		{name: "basic and post", form: url.Values{"client_id": {testClientID}, "client_secret": {testSecret}}, header: basic(testClientID, testSecret), wantStatus: 401},
		{name: "basic names another client", form: url.Values{"client_id": {"other"}}, header: basic(testClientID, testSecret), wantStatus: 401},
		{name: "basic bad secret", header: basic(testClientID, "wrong"), wantStatus: 401},
		{name: "basic not url-encoded", header: func(r *http.Request) { r.SetBasicAuth(testClientID, "%zz") }, wantStatus: 401},
		{name: "bearer header", header: func(r *http.Request) { r.Header.Set("Authorization", "Bearer x") }, wantStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			f := e.authorize(t, "bob", signInScopes...)
			form := redeemForm(f, aksDefaultScope)
			for k, v := range tt.form {
				form[k] = v
			}
			status, body := e.rawTokenCall(t, form, tt.header)
			if status != tt.wantStatus {
				t.Fatalf("status = %d (%v); want %d", status, body["error_description"], tt.wantStatus)
			}
			if status == 401 {
				wantEntraError(t, status, body, 401, "invalid_client", 7000215)
			}
		})
	}
}

// TestOAuth2LibraryAuthStyles redeems with x/oauth2 in both explicit auth styles, the way
// tokengate is configured (auto-detection would spend a code twice).
func TestOAuth2LibraryAuthStyles(t *testing.T) {
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInParams, oauth2.AuthStyleInHeader} {
		e := newEnv(t, nil)
		conf := e.oauthConfig(style, signInScopes...)
		verifier := oauth2.GenerateVerifier()
		code := e.signIn(t, browser(t), conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "bob")
		if _, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier)); err != nil {
			t.Errorf("style %d: Exchange: %v", style, err)
		}
	}
}

func TestRefresh(t *testing.T) {
	e := newEnv(t, nil)
	f := e.authorize(t, "alice", signInScopes...)
	_, first := e.tokenCall(t, redeemForm(f, aksDefaultScope))
	rt1, _ := first["refresh_token"].(string)
	if rt1 == "" {
		t.Fatal("no refresh token although offline_access was requested")
	}
	refresh := func(rt, scope string) (int, map[string]any) {
		v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
		if scope != "" {
			v.Set("scope", scope)
		}
		return e.tokenCall(t, v)
	}

	e.clock.Advance(30 * time.Minute)
	status, second := refresh(rt1, "openid profile offline_access "+aksDefaultScope)
	rt2, _ := second["refresh_token"].(string)
	if status != 200 || rt2 == "" || rt2 == rt1 {
		t.Fatalf("refresh = %d, new refresh token %v; want 200 and a new one", status, rt2 != "" && rt2 != rt1)
	}
	if second["id_token"] == nil {
		t.Error("refresh with openid returned no id_token")
	}
	verifyAKSToken(t, e, second["access_token"].(string))

	if status, again := refresh(rt1, aksDefaultScope); status != 200 {
		t.Errorf("old refresh token after rotation = %d %v; want 200 (Entra does not revoke it)", status, again["error_description"])
	} else if again["id_token"] != nil {
		t.Error("refresh without openid returned an id_token")
	}
	if status, _ := refresh(rt2, ""); status != 200 {
		t.Errorf("refresh without scope = %d; want 200 (the sign-in's resource)", status)
	}

	status, body := refresh(rt2, "User.Read")
	if status != 200 {
		t.Fatalf("refresh for Graph = %d %v; want 200 (multi-resource refresh token)", status, body["error_description"])
	}
	graph := body["access_token"].(string)
	if aud := jwtPart(t, graph, 1)["aud"]; aud != GraphResource || jwtPart(t, graph, 0)["nonce"] == nil {
		t.Errorf("Graph token aud = %v, header nonce %v; want %s and a nonce", aud, jwtPart(t, graph, 0)["nonce"], GraphResource)
	}
	v1, err := oidc.NewProvider(context.Background(), e.p.AccessTokenIssuer())
	if err != nil {
		t.Fatalf("v1 provider: %v", err)
	}
	if _, err := v1.Verifier(&oidc.Config{ClientID: GraphResource, Now: e.clock.Now}).Verify(context.Background(), graph); err == nil {
		t.Error("Graph token verified; like Entra's it must not")
	}

	status, body = refresh(rt2, "api://other-app/.default")
	wantEntraError(t, status, body, 400, "invalid_grant", 65001)
	if body["suberror"] != "consent_required" {
		t.Errorf("suberror = %v; want consent_required", body["suberror"])
	}
	status, body = refresh(rt2, aksDefaultScope+" https://graph.microsoft.com/User.Read")
	wantEntraError(t, status, body, 400, "invalid_scope", 28000)

	if got := e.p.TokenCalls("refresh_token"); got != 6 {
		t.Errorf("TokenCalls(refresh_token) = %d; want 6", got)
	}
}

func TestRefreshTokenEnds(t *testing.T) {
	tests := []struct {
		name     string
		end      func(e *env)
		wantCode int
	}{
		{name: "revoked user", end: func(e *env) { e.p.RevokeUser("ALICE") }, wantCode: 50173},
		{name: "inactive for 90 days", end: func(e *env) { e.clock.Advance(90 * 24 * time.Hour) }, wantCode: 700082},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			_, body := e.tokenCall(t, redeemForm(e.authorize(t, "alice", signInScopes...), ""))
			rt := body["refresh_token"].(string)
			tt.end(e)
			status, body := e.tokenCall(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {aksDefaultScope}})
			wantEntraError(t, status, body, 400, "invalid_grant", tt.wantCode)
			// A new sign-in works again.
			if status, _ := e.tokenCall(t, redeemForm(e.authorize(t, "alice", signInScopes...), "")); status != 200 {
				t.Errorf("fresh sign-in after the end = %d; want 200", status)
			}
		})
	}
}

func TestNoRefreshTokenWithoutOfflineAccess(t *testing.T) {
	e := newEnv(t, nil)
	f := e.authorize(t, "bob", "openid", "profile", aksDefaultScope)
	status, body := e.tokenCall(t, redeemForm(f, ""))
	if status != 200 || body["refresh_token"] != nil || body["id_token"] == nil {
		t.Fatalf("got %d, refresh_token %v, id_token %v; want 200, none, one", status, body["refresh_token"] != nil, body["id_token"] != nil)
	}
	if body["scope"] != AKSResource+"/user.read" {
		t.Errorf("scope = %v; want the authorize request's first resource", body["scope"])
	}
}

func TestUnavailable(t *testing.T) {
	e := newEnv(t, nil)
	f := e.authorize(t, "bob", signInScopes...)
	e.p.SetUnavailable(true)
	status, body := e.tokenCall(t, redeemForm(f, ""))
	if status != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" {
		t.Fatalf("got %d %v; want 503 temporarily_unavailable", status, body["error"])
	}
	e.p.SetUnavailable(false)
	if status, _ := e.tokenCall(t, redeemForm(f, "")); status != 200 {
		t.Errorf("after the outage = %d; want 200 (the code was not spent)", status)
	}
	if got := e.p.TokenCalls("authorization_code"); got != 2 {
		t.Errorf("TokenCalls = %d; want 2 (the refused call counts)", got)
	}
}

func TestCorrelationIDEchoed(t *testing.T) {
	e := newEnv(t, nil)
	const corr = "0b7c2a6e-1d3f-4e5a-8b9c-0d1e2f3a4b5c"
	status, body := e.rawTokenCall(t, url.Values{"grant_type": {"authorization_code"}, "client_id": {testClientID}, "client_secret": {testSecret}},
		func(r *http.Request) { r.Header.Set("client-request-id", corr) })
	wantEntraError(t, status, body, 400, "invalid_request", 900144)
	if body["correlation_id"] != corr {
		t.Errorf("correlation_id = %v; want the client-request-id %s", body["correlation_id"], corr)
	}
}

// TestConcurrentRedemptionSpendsCodeOnce races redemptions of one code: exactly one wins.
func TestConcurrentRedemptionSpendsCodeOnce(t *testing.T) {
	e := newEnv(t, nil)
	f := e.authorize(t, "alice", signInScopes...)
	const n = 8
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			form := redeemForm(f, "")
			form.Set("client_id", testClientID)
			form.Set("client_secret", testSecret)
			resp, err := http.PostForm(e.p.tokenEndpoint(), form)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		})
	}
	wg.Wait()
	close(statuses)
	ok := 0
	for s := range statuses {
		if s == http.StatusOK {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent redemptions succeeded; want exactly 1", ok, n)
	}
}
