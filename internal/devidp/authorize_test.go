package devidp

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// authURL builds an authorization URL from valid defaults with edits applied.
func (e *env) authURL(edit func(url.Values)) string {
	v := url.Values{
		"client_id": {testClientID}, "redirect_uri": {testRedirect}, "response_type": {"code"},
		"scope": {strings.Join(signInScopes, " ")}, "state": {"st"}, "nonce": {"n"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"},
	}
	if edit != nil {
		edit(v)
	}
	return e.p.base + "/oauth2/v2.0/authorize?" + v.Encode()
}

func TestAuthorizeRefusals(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(url.Values)
		wantPage string // AADSTS code on an error page (never redirected)
		wantErr  string // error in the redirect to the client
	}{
		{name: "unknown client", edit: func(v url.Values) { v.Set("client_id", "99999999-0000-4000-8000-000000000000") }, wantPage: "AADSTS700016"},
		{name: "missing client", edit: func(v url.Values) { v.Del("client_id") }, wantPage: "AADSTS900144"},
		{name: "unregistered redirect_uri", edit: func(v url.Values) { v.Set("redirect_uri", "https://evil.example/cb") }, wantPage: "AADSTS50011"},
		{name: "redirect_uri prefix only", edit: func(v url.Values) { v.Set("redirect_uri", testRedirect+"/x") }, wantPage: "AADSTS50011"},
		{name: "no PKCE", edit: func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }, wantErr: "invalid_request"},
		{name: "plain PKCE", edit: func(v url.Values) { v.Set("code_challenge_method", "plain") }, wantErr: "invalid_request"},
		{name: "PKCE method missing", edit: func(v url.Values) { v.Del("code_challenge_method") }, wantErr: "invalid_request"},
		{name: "malformed challenge", edit: func(v url.Values) { v.Set("code_challenge", "short") }, wantErr: "invalid_request"},
		{name: "implicit flow", edit: func(v url.Values) { v.Set("response_type", "token") }, wantErr: "unsupported_response_type"},
		{name: "form_post", edit: func(v url.Values) { v.Set("response_mode", "form_post") }, wantErr: "invalid_request"},
		{name: "no openid", edit: func(v url.Values) { v.Set("scope", aksDefaultScope) }, wantErr: "invalid_request"},
		{name: "default mixed with named", edit: func(v url.Values) { v.Set("scope", "openid User.Read https://graph.microsoft.com/.default") }, wantErr: "invalid_scope"},
		{name: "prompt none without session", edit: func(v url.Values) { v.Set("prompt", "none") }, wantErr: "login_required"},
		{name: "unknown prompt", edit: func(v url.Values) { v.Set("prompt", "create-everything") }, wantErr: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			resp, body := get(t, browser(t), e.authURL(tt.edit))
			if tt.wantPage != "" {
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(body, tt.wantPage) {
					t.Fatalf("got %d, Location %q; want 400 page with %s and no redirect:\n%s", resp.StatusCode, resp.Header.Get("Location"), tt.wantPage, body)
				}
				return
			}
			q := redirectParams(t, resp)
			if q.Get("error") != tt.wantErr || q.Get("state") != "st" || !strings.HasPrefix(q.Get("error_description"), "AADSTS") || q.Get("code") != "" {
				t.Errorf("redirect query = %v; want error=%s with state and an AADSTS description, no code", q, tt.wantErr)
			}
		})
	}
}

func TestLoginForm(t *testing.T) {
	e := newEnv(t, nil)
	c := browser(t)
	hostile := `"><script>alert(1)</script>`
	resp, page := get(t, c, e.authURL(func(v url.Values) { v.Set("state", hostile) }))
	if resp.StatusCode != 200 || strings.Contains(page, "<script>") {
		t.Fatalf("login page = %d; want 200 with the state escaped", resp.StatusCode)
	}
	if form := loginForm(t, page); form.Get("state") != hostile || form.Get("code_challenge_method") != "S256" {
		t.Errorf("hidden fields = %v; want the authorization request carried over", form)
	}

	resp, again := e.submitLogin(t, c, page, "alice", "wrong", "signin")
	if resp.StatusCode != 200 || resp.Header.Get("Location") != "" || !strings.Contains(again, `id="error"`) || strings.Contains(again, "wrong") {
		t.Fatalf("wrong password = %d Location %q; want the form again with an error and without the password", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = e.submitLogin(t, c, again, "nobody", "password", "signin")
	if resp.StatusCode != 200 {
		t.Errorf("unknown user = %d; want the form again", resp.StatusCode)
	}

	resp, _ = e.submitLogin(t, c, again, "", "", "cancel")
	q := redirectParams(t, resp)
	if q.Get("error") != "access_denied" || !strings.HasPrefix(q.Get("error_description"), "AADSTS65004: User declined") || q.Get("state") != hostile {
		t.Errorf("cancel redirect = %v; want access_denied AADSTS65004 with state", q)
	}

	resp, _ = e.submitLogin(t, c, again, "alice@CONTOSO.example", "password", "signin")
	if q := redirectParams(t, resp); q.Get("code") == "" {
		t.Errorf("sign-in by UPN = %v; want a code", q)
	}
}

// TestTamperedFormIsRevalidated posts a form whose hidden redirect_uri was changed: the POST
// must check the request again and never redirect there.
func TestTamperedFormIsRevalidated(t *testing.T) {
	e := newEnv(t, nil)
	c := browser(t)
	_, page := get(t, c, e.authURL(nil))
	form := loginForm(t, page)
	form.Set("redirect_uri", "https://evil.example/cb")
	form.Set("username", "alice")
	form.Set("password", "password")
	resp, body := postForm(t, c, e.p.base+"/oauth2/v2.0/authorize", form)
	if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || !strings.Contains(body, "AADSTS50011") {
		t.Errorf("got %d Location %q; want a 400 page AADSTS50011", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestSingleSignOnAndLogout(t *testing.T) {
	e := newEnv(t, nil)
	c := browser(t)
	e.signIn(t, c, e.authURL(nil), "bob")

	resp, _ := get(t, c, e.authURL(func(v url.Values) { v.Set("prompt", "none") }))
	if q := redirectParams(t, resp); q.Get("code") == "" {
		t.Fatalf("prompt=none with a session = %v; want a code", q)
	}
	if resp, _ := get(t, c, e.authURL(func(v url.Values) { v.Set("prompt", "login") })); resp.StatusCode != 200 {
		t.Errorf("prompt=login with a session = %d; want the form", resp.StatusCode)
	}
	if resp, _ := get(t, c, e.authURL(func(v url.Values) { v.Set("login_hint", "alice") })); resp.StatusCode != 200 {
		t.Errorf("login_hint for another user = %d; want the form", resp.StatusCode)
	}

	logout := e.p.base + "/oauth2/v2.0/logout?"
	resp, _ = get(t, c, logout+url.Values{"post_logout_redirect_uri": {testPostLogout}, "state": {"bye"}}.Encode())
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != testPostLogout+"?state=bye" {
		t.Errorf("logout = %d → %q; want 302 to the registered URI with state", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = get(t, c, e.authURL(func(v url.Values) { v.Set("prompt", "none") }))
	if q := redirectParams(t, resp); q.Get("error") != "login_required" {
		t.Errorf("prompt=none after logout = %v; want login_required", q)
	}
	resp, body := get(t, c, logout+url.Values{"post_logout_redirect_uri": {"https://evil.example/"}}.Encode())
	if resp.StatusCode != 200 || resp.Header.Get("Location") != "" || !strings.Contains(body, "signed out") {
		t.Errorf("logout to an unregistered URI = %d → %q; want the signed-out page", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestRevokeUserEndsBrowserSession(t *testing.T) {
	e := newEnv(t, nil)
	c := browser(t)
	e.signIn(t, c, e.authURL(nil), "alice")
	e.p.RevokeUser("alice")
	resp, _ := get(t, c, e.authURL(func(v url.Values) { v.Set("prompt", "none") }))
	if q := redirectParams(t, resp); q.Get("error") != "login_required" {
		t.Errorf("prompt=none after RevokeUser = %v; want login_required", q)
	}
}
