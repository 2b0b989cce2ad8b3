package idp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

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
	return tok, nil
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
	idToken, err := d.verifier.Verify(oidcContext(ctx, c.cfg.HTTPClient), tok.IDToken.Reveal())
	if err != nil {
		return Token{}, fmt.Errorf("refresh for the id_token: %w: %v", ErrVerification, err)
	}
	return Token{AccessToken: tok.IDToken, RefreshToken: tok.RefreshToken, IDToken: tok.IDToken, Expiry: idToken.Expiry}, nil
}

// postToken sends one token request with our client authentication and parses the answer.
func (c *Client) postToken(ctx context.Context, d *discovery, form url.Values) (Token, error) {
	req, err := c.newTokenRequest(ctx, d, form)
	if err != nil {
		return Token{}, err
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
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
			SubError    string `json:"suberror"`
		}
		_ = json.Unmarshal(body, &e) // a non-JSON error page still has a status to classify
		return Token{}, newProviderError(resp.StatusCode, e.Error, e.SubError, e.Description, resp.Header)
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
	return Token{
		AccessToken:  secret.String(r.AccessToken),
		RefreshToken: secret.String(r.RefreshToken),
		IDToken:      secret.String(r.IDToken),
		Expiry:       c.expiryAfter(r.ExpiresIn),
	}, nil
}

// expiryAfter turns expires_in into an instant on our clock. Entra's v1 endpoint sends it as
// a string, v2 as a number; a missing value means one hour, the shortest Entra issues.
func (c *Client) expiryAfter(raw json.RawMessage) time.Time {
	text := strings.Trim(string(raw), `"`)
	secs, err := strconv.ParseInt(text, 10, 64)
	if err != nil || secs <= 0 {
		secs = 3600
	}
	return c.cfg.Now().Add(time.Duration(secs) * time.Second)
}

// subErrorOf reads Entra's "suberror" from an error body; oauth2.RetrieveError drops it.
func subErrorOf(body []byte) string {
	var e struct {
		SubError string `json:"suberror"`
	}
	_ = json.Unmarshal(body, &e) // no suberror in a non-JSON body
	return e.SubError
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
