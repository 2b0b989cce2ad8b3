package devidp

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// authParams are the authorization request parameters. The login form carries each of them
// as a hidden input of the same name, so submitting it re-sends the whole request.
var authParams = []string{
	"client_id", "redirect_uri", "response_type", "response_mode", "scope", "state",
	"nonce", "code_challenge", "code_challenge_method", "prompt", "login_hint",
}

// authRequest is a validated authorization request.
type authRequest struct {
	client                       *Client
	redirectURI, state, nonce    string
	challenge, prompt, loginHint string
	scopes                       scopeSet
	params                       url.Values // as received, for the form's hidden fields
}

// authError is a refused authorization request. Until client_id and redirect_uri are known
// to be good the browser must not be sent anywhere (page), afterwards the error goes back to
// the client in the redirect, as OAuth 2.0 §4.1.2.1 prescribes.
type authError struct {
	page   bool
	code   string // OAuth error for the redirect
	aadsts int
	text   string
}

func pageError(aadsts int, text string) *authError {
	return &authError{page: true, aadsts: aadsts, text: text}
}

func redirectError(code string, aadsts int, text string) *authError {
	return &authError{code: code, aadsts: aadsts, text: text}
}

// parseAuthRequest validates an authorization request, checking first what decides whether
// redirecting is safe. The returned request is non-nil whenever a redirect is allowed.
func (p *Provider) parseAuthRequest(v url.Values) (*authRequest, *authError) {
	clientID := v.Get("client_id")
	if clientID == "" {
		return nil, pageError(900144, "The request body must contain the following parameter: 'client_id'.")
	}
	client := p.clients[clientID]
	if client == nil {
		return nil, pageError(700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", clientID, p.cfg.TenantID))
	}
	redirectURI := v.Get("redirect_uri")
	if !slices.Contains(client.RedirectURIs, redirectURI) {
		return nil, pageError(50011, fmt.Sprintf("The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'.", redirectURI, clientID))
	}
	req := &authRequest{
		client: client, redirectURI: redirectURI, state: v.Get("state"), nonce: v.Get("nonce"),
		challenge: v.Get("code_challenge"), prompt: v.Get("prompt"), loginHint: v.Get("login_hint"),
		params: v,
	}
	if err := req.check(v); err != nil {
		return req, err
	}
	return req, nil
}

// check validates everything after the redirect target is known.
func (req *authRequest) check(v url.Values) *authError {
	if rt := v.Get("response_type"); rt != "code" {
		return redirectError("unsupported_response_type", 700051, fmt.Sprintf("response_type '%s' is not supported by devidp: use 'code'.", rt))
	}
	if rm := v.Get("response_mode"); rm != "" && rm != "query" {
		return redirectError("invalid_request", 9002313, "Invalid request: devidp supports response_mode=query only.")
	}
	scopes, serr := parseScopes(v.Get("scope"))
	if serr != nil {
		return redirectError(serr.code, serr.aadsts, serr.text)
	}
	if !scopes.oidc["openid"] {
		return redirectError("invalid_request", 900144, "The request must contain the 'openid' scope.")
	}
	req.scopes = scopes
	// Entra accepts requests without PKCE and with method "plain". devidp is stricter on
	// purpose: tokengate must always send S256, and refusing anything else here turns a
	// regression into a failing test instead of a silent downgrade.
	if req.challenge == "" || v.Get("code_challenge_method") != "S256" {
		return redirectError("invalid_request", 9002325, "Proof Key for Code Exchange is required: send code_challenge with code_challenge_method=S256.")
	}
	if len(req.challenge) != 43 || strings.Trim(req.challenge, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return redirectError("invalid_request", 9002325, "code_challenge must be the base64url SHA-256 of the code verifier (43 characters).")
	}
	switch req.prompt {
	case "", "none", "login", "consent", "select_account":
	default:
		return redirectError("invalid_request", 9002313, fmt.Sprintf("Invalid request: unsupported prompt '%s'.", req.prompt))
	}
	return nil
}

// authorizeGet starts a sign-in: single sign-on from the devidp_sso cookie when possible,
// login_required for prompt=none without a session, the login form otherwise.
func (p *Provider) authorizeGet(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.authorizeCalls++
	p.mu.Unlock()
	req, aerr := p.parseAuthRequest(r.URL.Query())
	if aerr != nil {
		p.failAuthorize(w, req, aerr)
		return
	}
	if s := p.sessionFor(r); s != nil && req.prompt != "login" && req.prompt != "select_account" &&
		(req.loginHint == "" || p.matchUser(req.loginHint) == p.lookupUser(s.username)) {
		p.issueCode(w, req, s)
		return
	}
	if req.prompt == "none" {
		p.failAuthorize(w, req, redirectError("login_required", 50058, "A silent sign-in request was sent but no user is signed in."))
		return
	}
	p.renderLogin(w, req, req.loginHint, "")
}

// maxFormBytes bounds request bodies: the forms here are a few hundred bytes.
const maxFormBytes = 64 << 10

// authorizePost handles the submitted login form (see loginTemplate for its fields).
func (p *Provider) authorizePost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.renderPage(w, http.StatusBadRequest, "Sign in failed", "AADSTS900144: The login form could not be read.")
		return
	}
	req, aerr := p.parseAuthRequest(r.PostForm)
	if aerr != nil {
		p.failAuthorize(w, req, aerr)
		return
	}
	if r.PostForm.Get("action") == "cancel" {
		p.failAuthorize(w, req, redirectError("access_denied", 65004, "User declined to consent to access the app."))
		return
	}
	username := r.PostForm.Get("username")
	user := p.matchUser(username)
	if user == nil || subtle.ConstantTimeCompare([]byte(user.Password), []byte(r.PostForm.Get("password"))) != 1 {
		p.renderLogin(w, req, username, "Your account or password is incorrect. (AADSTS50126)")
		return
	}
	p.issueCode(w, req, p.startSession(w, user))
}

// matchUser finds a user by username or UPN, case-insensitively.
func (p *Provider) matchUser(name string) *User {
	if u := p.lookupUser(name); u != nil {
		return u
	}
	for _, u := range p.users {
		if u.UPN != "" && strings.EqualFold(u.UPN, name) {
			return u
		}
	}
	return nil
}

// issueCode stores a single-use code bound to the request and the session and sends the
// browser back to the client.
func (p *Provider) issueCode(w http.ResponseWriter, req *authRequest, s *ssoSession) {
	code := randomToken()
	now := p.now()
	p.mu.Lock()
	p.pruneLocked(now)
	p.codes[code] = &codeGrant{
		clientID: req.client.ID, redirectURI: req.redirectURI,
		challenge: req.challenge, nonce: req.nonce, scopes: req.scopes,
		username: s.username, sid: s.sid,
		expires: now.Add(p.cfg.CodeLifetime),
	}
	p.mu.Unlock()
	q := url.Values{"code": {code}, "session_state": {s.sid}}
	if req.state != "" {
		q.Set("state", req.state)
	}
	redirectTo(w, req.redirectURI, q)
}

// failAuthorize shows an error page when redirecting is unsafe and redirects otherwise.
func (p *Provider) failAuthorize(w http.ResponseWriter, req *authRequest, e *authError) {
	desc := fmt.Sprintf("AADSTS%d: %s", e.aadsts, e.text)
	if e.page || req == nil {
		p.renderPage(w, http.StatusBadRequest, "Sorry, but we're having trouble signing you in.", desc)
		return
	}
	q := url.Values{"error": {e.code}, "error_description": {desc}}
	if req.state != "" {
		q.Set("state", req.state)
	}
	redirectTo(w, req.redirectURI, q)
}

// redirectTo answers 302 without a body: http.Redirect would repeat the URL, code included,
// in an HTML body.
func redirectTo(w http.ResponseWriter, target string, q url.Values) {
	w.Header().Set("Location", withQuery(target, q))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusFound)
}

// withQuery appends q to target's own query. target is a registered URI, so it parses.
func withQuery(target string, q url.Values) string {
	u, err := url.Parse(target)
	if err != nil {
		return target
	}
	merged := u.Query()
	for k, vs := range q {
		merged[k] = vs
	}
	u.RawQuery = merged.Encode()
	return u.String()
}
