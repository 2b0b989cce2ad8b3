package devidp

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
)

// authenticateClient checks the client credentials of a token request: client_secret_post
// (client_id and client_secret form fields) or client_secret_basic (HTTP Basic with the
// form-urlencoded id and secret, RFC 6749 §2.3.1). Sending the secret both ways, or
// naming two different clients, is refused like a wrong secret. A client_assertion is a
// certificate or federated credential instead (assertion.go).
func (p *Provider) authenticateClient(r *http.Request, form url.Values) (*Client, *entraError) {
	id, secret := form.Get("client_id"), form.Get("client_secret")
	if r.Header.Get("Authorization") != "" {
		bid, bsecret, ok := basicCredentials(r)
		if !ok {
			return nil, invalidClient(7000215, "Invalid client secret provided: the Authorization header is malformed.")
		}
		if secret != "" || (id != "" && id != bid) {
			return nil, invalidClient(7000215, "Invalid client secret provided: the client authenticated with more than one method.")
		}
		id, secret = bid, bsecret
	}
	if form.Get("client_assertion") != "" {
		c, err := p.authenticateAssertion(id, form) // certificate or federated credential (assertion.go)
		if err == nil && secret != "" {
			return nil, invalidClient(7000215, "Invalid client secret provided: the client authenticated with more than one method.")
		}
		return c, err
	}
	if id == "" {
		return nil, missingParam("client_id")
	}
	c := p.clients[id]
	if c == nil {
		return nil, unknownClient(id, p.cfg.TenantID)
	}
	if secret == "" {
		return nil, invalidClient(7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
		return nil, invalidClient(7000215, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", id))
	}
	return c, nil
}

// basicCredentials decodes HTTP Basic client credentials, undoing the form-urlencoding
// RFC 6749 §2.3.1 applies to both parts. It reports no detail on failure: the parts are
// secrets.
func basicCredentials(r *http.Request) (id, secret string, ok bool) {
	rawID, rawSecret, ok := r.BasicAuth()
	if !ok {
		return "", "", false
	}
	id, errID := url.QueryUnescape(rawID)
	secret, errSecret := url.QueryUnescape(rawSecret)
	if errID != nil || errSecret != nil {
		return "", "", false
	}
	return id, secret, true
}
