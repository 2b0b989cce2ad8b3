package idp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/internal/secret"
)

// maxTokenResponse bounds what we read from a token endpoint: an Entra answer with three
// tokens of a 200-group user is about 12 KB.
const maxTokenResponse = 1 << 20

// Refresh redeems refreshToken for an access token for exactly one resource scope (plus
// the OIDC scopes, so Entra rotates the refresh token and returns an id_token).
//
// golang.org/x/oauth2 cannot send a scope with a refresh, and Entra needs one resource per
// /token call (AADSTS28000 otherwise), so this request is built here.
func (c *Client) Refresh(ctx context.Context, refreshToken secret.String, scope string) (Token, error) {
	d, err := c.state()
	if err != nil {
		return Token{}, err
	}
	if scope == IDTokenScope {
		return c.refreshIDToken(ctx, d, refreshToken)
	}
	if refreshToken.IsEmpty() {
		return Token{}, fmt.Errorf("refresh for %s: %w: the session has no refresh token (was offline_access granted?)", scope, ErrInvalidGrant)
	}
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken.Reveal()},
		"scope":         {strings.Join(append(append([]string(nil), d.oidcScopes...), scope), " ")},
	}
	tok, err := c.postToken(ctx, d, form)
	if err != nil {
		return Token{}, fmt.Errorf("refresh for %s: %w", scope, err)
	}
	if !tok.IDToken.IsEmpty() {
		if err := c.verifyRefreshIDToken(ctx, d, &tok); err != nil {
			return Token{}, fmt.Errorf("refresh for %s: %w", scope, err)
		}
	}
	return tok, nil
}

// verifyRefreshIDToken verifies a refresh's id_token (signature, issuer, audience) and
// records its iss and subject in tok for the caller to compare with the session. A
// refresh answer whose id_token does not verify is refused as a dead grant: the provider
// has already spent the refresh token, and what it returned cannot be trusted.
func (c *Client) verifyRefreshIDToken(ctx context.Context, d *discovery, tok *Token) error {
	idToken, err := d.refreshIDs.Verify(oidcContext(ctx, c.cfg.HTTPClient), tok.IDToken.Reveal())
	if err != nil {
		return fmt.Errorf("%w: %w: refresh id_token: %v", ErrInvalidGrant, ErrVerification, err)
	}
	var claims tokenClaims
	if err := idToken.Claims(&claims); err != nil {
		return fmt.Errorf("%w: %w: refresh id_token claims: %v", ErrInvalidGrant, ErrVerification, err)
	}
	tok.IDIssuer, tok.IDSubject = idToken.Issuer, firstNonEmpty(claims.OID, claims.Subject)
	return nil
}

// IDTokenScope is the cache scope under which a session's id_token is kept: Refresh with it
// returns the id_token of a refresh in Token.AccessToken, with the id_token's own expiry.
// Profiles for AKS structured authentication send the id_token, not an access token.
const IDTokenScope = "openid#id_token"

// refreshIDToken refreshes for the sign-in resource with openid (Entra then returns a fresh
// id_token) and verifies the id_token before handing it out.
func (c *Client) refreshIDToken(ctx context.Context, d *discovery, refreshToken secret.String) (Token, error) {
	tok, err := c.Refresh(ctx, refreshToken, d.resource)
	if err != nil {
		return Token{}, fmt.Errorf("refresh for the id_token: %w", err)
	}
	if tok.IDToken.IsEmpty() {
		return Token{}, fmt.Errorf("refresh for the id_token: %w: the provider returned no id_token", ErrUnavailable)
	}
	idToken, err := c.verifyIDToken(oidcContext(ctx, c.cfg.HTTPClient), d, tok.IDToken.Reveal())
	if err != nil {
		return Token{}, fmt.Errorf("refresh for the id_token: %w", err)
	}
	return Token{AccessToken: tok.IDToken, RefreshToken: tok.RefreshToken, IDToken: tok.IDToken, Expiry: c.capLifetime(idToken.Expiry),
		IDIssuer: tok.IDIssuer, IDSubject: tok.IDSubject}, nil
}

// postToken sends one token request with our client authentication and parses the answer.
func (c *Client) postToken(ctx context.Context, d *discovery, form url.Values) (Token, error) {
	req, err := c.newTokenRequest(ctx, d, form)
	if err != nil {
		return Token{}, fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return Token{}, classify(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return Token{}, fmt.Errorf("%w: read token response: %v", ErrUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e tokenErrorBody
		_ = json.Unmarshal(body, &e) // a non-JSON error page still has a status to classify
		return Token{}, newProviderError(resp.StatusCode, e, resp.Header, sentValues(req, form)...)
	}
	return c.parseTokenResponse(body)
}

// newTokenRequest adds the client authentication to form exactly as x/oauth2 does for the
// code exchange (clientauth.go), so refreshes and the exchange send the same credentials.
func (c *Client) newTokenRequest(ctx context.Context, d *discovery, form url.Values) (*http.Request, error) {
	extra, err := c.auth.params(d.tokenURL)
	if err != nil {
		return nil, fmt.Errorf("client authentication: %w", err)
	}
	for k, v := range extra {
		form[k] = v
	}
	clientSecret, style := c.auth.endpointAuth()
	if style == oauth2.AuthStyleInParams {
		form.Set("client_id", c.cfg.ClientID)
		if clientSecret != "" {
			form.Set("client_secret", clientSecret)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("build token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if style == oauth2.AuthStyleInHeader {
		// RFC 6749 2.3.1: both parts are form-encoded before Basic encoding.
		req.SetBasicAuth(url.QueryEscape(c.cfg.ClientID), url.QueryEscape(clientSecret))
	}
	return req, nil
}

func (c *Client) parseTokenResponse(body []byte) (Token, error) {
	var r struct {
		AccessToken  string          `json:"access_token"`
		RefreshToken string          `json:"refresh_token"`
		IDToken      string          `json:"id_token"`
		TokenType    string          `json:"token_type"`
		ExpiresIn    json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return Token{}, fmt.Errorf("%w: token response is not JSON", ErrUnavailable)
	}
	if r.AccessToken == "" {
		return Token{}, fmt.Errorf("%w: token response has no access_token", ErrUnavailable)
	}
	if !isB64Token(r.AccessToken) || (r.IDToken != "" && !isB64Token(r.IDToken)) {
		return Token{}, fmt.Errorf("%w: token response holds a token that is not RFC 6750 b64token text", ErrUnavailable)
	}
	if r.TokenType != "" && !strings.EqualFold(r.TokenType, "bearer") {
		return Token{}, fmt.Errorf("%w: token type %q is not Bearer", ErrUnavailable, r.TokenType)
	}
	expiry, err := c.accessTokenExpiry(r.ExpiresIn, r.AccessToken)
	if err != nil {
		return Token{}, err
	}
	return Token{
		AccessToken:  secret.String(r.AccessToken),
		RefreshToken: secret.String(r.RefreshToken),
		IDToken:      secret.String(r.IDToken),
		Expiry:       expiry,
	}, nil
}

// sentValues lists the credentials a token request carried, for the description screen: the
// credential form values and the Basic password.
func sentValues(req *http.Request, form url.Values) []string {
	var out []string
	for _, k := range []string{"refresh_token", "code", "code_verifier", "client_secret", "client_assertion"} {
		out = append(out, form[k]...)
	}
	if _, pass, ok := req.BasicAuth(); ok {
		out = append(out, pass)
	}
	return out
}

// isB64Token reports whether s has RFC 6750 §2.1 b64token syntax, the only tokens tokengate
// forwards: header values are then safe by construction and need no per-request scan.
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}
