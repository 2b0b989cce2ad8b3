package devidp

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// grant is one successful token request, whatever its grant type: who, for which client,
// from which sign-in, and the scopes that decide this response.
type grant struct {
	client *Client
	user   *User
	sid    string
	family string   // the sign-in's refresh-token family (rotation.go)
	nonce  string   // code grant only: refreshed ID tokens carry none
	signIn scopeSet // the authorization request's scopes
	scopes scopeSet // this request's scopes: one resource
	// clientACR is how the client authenticated: "1" secret, "2" assertion (assertion.go).
	clientACR string
}

// token is the token endpoint: client authentication, then the grant.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.writeError(w, r, invalidRequest(900144, "The request body could not be read as a form."))
		return
	}
	form := r.PostForm
	grantType := form.Get("grant_type")
	p.mu.Lock()
	p.tokenCalls[grantType]++
	down, echo := p.unavailable, p.echo
	var slowDown *entraError
	var retryAfter time.Duration
	if grantType == "refresh_token" {
		slowDown, retryAfter = p.throttled(form.Get("refresh_token"), form.Get("scope"))
	}
	p.mu.Unlock()
	if echo != EchoOff {
		writeEcho(w, echo, false, echoRequest(r, form))
		return
	}
	if slowDown != nil {
		p.writeThrottled(w, r, slowDown, retryAfter)
		return
	}
	if down {
		p.writeError(w, r, &entraError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable",
			aadsts: 90033, text: "A transient error has occurred. Please try again."})
		return
	}
	client, cerr := p.authenticateClient(r, form)
	if cerr != nil {
		p.writeError(w, r, cerr)
		return
	}
	var g *grant
	switch grantType {
	case "authorization_code":
		g, cerr = p.redeemCode(client, form)
	case "refresh_token":
		g, cerr = p.redeemRefresh(client, form)
	case "client_credentials":
		// An app-only token: no user, no refresh token (apponly.go).
		if cerr = p.clientCredentials(w, client, form); cerr == nil {
			return
		}
	case "":
		cerr = missingParam("grant_type")
	default:
		cerr = &entraError{status: http.StatusBadRequest, code: "unsupported_grant_type", aadsts: 70003,
			text: fmt.Sprintf("The app requested an unsupported grant type '%s'.", grantType)}
	}
	if cerr == nil {
		g.clientACR = clientACR(form)
		cerr = p.respond(w, g)
	}
	if cerr != nil {
		p.writeError(w, r, cerr)
	}
}

// redeemCode checks an authorization code against everything it is bound to and spends it.
func (p *Provider) redeemCode(client *Client, form url.Values) (*grant, *entraError) {
	code := form.Get("code")
	if code == "" {
		return nil, missingParam("code")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.codes[code]
	switch {
	case c == nil || c.clientID != client.ID:
		return nil, invalidGrant(70000, "The provided value for the 'code' parameter is not valid.")
	case c.used:
		return nil, invalidGrant(54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
	case !p.now().Before(c.expires):
		return nil, invalidGrant(70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
	case form.Get("redirect_uri") != c.redirectURI:
		return nil, invalidGrant(500112, "The reply address does not match the reply address provided when requesting Authorization code.")
	case subtle.ConstantTimeCompare([]byte(s256(form.Get("code_verifier"))), []byte(c.challenge)) != 1:
		return nil, invalidGrant(501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
	}
	scopes, serr := forToken(form.Get("scope"), c.scopes)
	if serr != nil {
		return nil, serr
	}
	// The sign-in's OIDC scopes still count when the redemption names only a resource:
	// the ID token answers the authorization request.
	scopes.oidc = union(c.scopes.oidc, scopes.oidc)
	user := p.lookupUser(c.username)
	if user == nil {
		return nil, invalidGrant(50034, "The user account does not exist in the directory.")
	}
	c.used = true
	return &grant{client: client, user: user, sid: c.sid, family: randomToken(), nonce: c.nonce,
		signIn: c.scopes, scopes: scopes}, nil
}

// redeemRefresh checks a refresh token. It is not spent (Entra keeps the old one valid)
// unless Config.RotateRefreshTokens is set.
func (p *Provider) redeemRefresh(client *Client, form url.Values) (*grant, *entraError) {
	token := form.Get("refresh_token")
	if token == "" {
		return nil, missingParam("refresh_token")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	rg := p.refreshTokens[token]
	switch {
	case rg == nil:
		return nil, invalidGrant(9002313, "Invalid request. Request is malformed or invalid.")
	case rg.clientID != client.ID:
		return nil, invalidGrant(70000, "The provided value for the 'refresh_token' parameter is not valid: it was issued to a different client.")
	case rg.revoked:
		return nil, invalidGrant(50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.")
	case !p.now().Before(rg.expires):
		return nil, invalidGrant(700082, fmt.Sprintf("The refresh token has expired due to inactivity. The token was inactive for %s.", p.cfg.RefreshTokenLifetime))
	}
	scopes, serr := forToken(form.Get("scope"), rg.signIn)
	if serr != nil {
		return nil, serr
	}
	user := p.lookupUser(rg.username)
	if user == nil {
		return nil, invalidGrant(50034, "The user account does not exist in the directory.")
	}
	if p.cfg.RotateRefreshTokens {
		if e := p.spendLocked(rg); e != nil {
			return nil, e
		}
	}
	return &grant{client: client, user: user, sid: rg.sid, family: rg.family, signIn: rg.signIn, scopes: scopes}, nil
}

type tokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// respond issues the tokens of a grant: an access token for its one resource, an ID token
// when openid is in scope, a new refresh token when the sign-in asked for offline_access.
func (p *Provider) respond(w http.ResponseWriter, g *grant) *entraError {
	res := g.scopes.resources[0]
	if !g.client.consented(res.id) {
		e := invalidGrant(65001, fmt.Sprintf("The user or administrator has not consented to use the application with ID '%s' for the resource '%s'. Send an interactive authorization request for this user and resource.", g.client.ID, res.id))
		e.suberror = "consent_required"
		return e
	}
	perms, perr := permissions(res, g.scopes.oidc)
	if perr != nil {
		return perr
	}
	now := p.now()
	lifetime := p.accessTokenLifetime()
	at, err := p.accessToken(g, res.id, perms, now, lifetime)
	if err != nil {
		return serverError(err)
	}
	out := tokenResponse{
		TokenType: "Bearer", Scope: grantedScope(res.id, perms),
		ExpiresIn: int(lifetime.Seconds()), ExtExpiresIn: int(lifetime.Seconds()), AccessToken: at,
	}
	if g.scopes.oidc["openid"] {
		if out.IDToken, err = p.idToken(g, now); err != nil {
			return serverError(err)
		}
	}
	if g.signIn.oidc["offline_access"] {
		out.RefreshToken = randomToken()
		p.mu.Lock()
		p.pruneLocked(now)
		p.refreshTokens[out.RefreshToken] = &refreshGrant{
			clientID: g.client.ID, username: g.user.Username, sid: g.sid, family: g.family,
			signIn: g.signIn, expires: now.Add(p.cfg.RefreshTokenLifetime),
		}
		p.mu.Unlock()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// serverError reports a failure to sign: a bug or a broken machine, never the client's fault.
func serverError(err error) *entraError {
	return &entraError{status: http.StatusInternalServerError, code: "server_error", aadsts: 90100,
		text: "An error occurred while issuing the token: " + err.Error()}
}

func union(a, b map[string]bool) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = out[k] || v
	}
	return out
}
