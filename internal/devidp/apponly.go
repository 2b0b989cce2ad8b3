package devidp

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// clientCredentials answers a client_credentials grant (RFC 6749 §4.4) as Entra does: an
// app-only access token for the one resource of scope, which must be "<resource>/.default"
// alone. The token names the application, not a user (idtyp "app"), and comes without a
// refresh token or id_token. `tokengate doctor` uses it to test the client's credentials.
func (p *Provider) clientCredentials(w http.ResponseWriter, client *Client, form url.Values) *entraError {
	raw := strings.TrimSpace(form.Get("scope"))
	if raw == "" {
		return missingParam("scope")
	}
	s, serr := parseScopes(raw)
	if serr != nil {
		return serr
	}
	if len(s.oidc) > 0 || len(s.resources) != 1 || !s.resources[0].dflt {
		return &entraError{status: http.StatusBadRequest, code: "invalid_scope", aadsts: 1002012,
			text: fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", raw)}
	}
	res := s.resources[0].id
	if !client.consented(res) {
		e := invalidGrant(65001, fmt.Sprintf("The application with ID '%s' has not been granted admin consent for the resource '%s'. Grant admin consent for the application's API permissions.", client.ID, res))
		e.suberror = "consent_required"
		return e
	}
	now := p.now()
	lifetime := p.accessTokenLifetime()
	c := map[string]any{
		"aud": res, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(lifetime).Unix(),
		"oid": servicePrincipalOID(client.ID), "sub": servicePrincipalOID(client.ID),
		"tid": p.cfg.TenantID, "idtyp": "app", "uti": uti(),
	}
	if res == AKSResource || res == GraphResource {
		c["iss"], c["ver"] = p.AccessTokenIssuer(), "1.0"
		c["appid"], c["appidacr"] = client.ID, clientACR(form)
	} else {
		c["iss"], c["ver"] = p.Issuer(), "2.0"
		c["azp"], c["azpacr"] = client.ID, clientACR(form)
	}
	var at string
	var err error
	if res == GraphResource {
		at, err = p.issueGraphToken(c)
	} else {
		at, err = p.key.sign(c)
	}
	if err != nil {
		return serverError(err)
	}
	writeJSON(w, http.StatusOK, tokenResponse{
		TokenType: "Bearer", ExpiresIn: int(lifetime.Seconds()), ExtExpiresIn: int(lifetime.Seconds()),
		AccessToken: at,
	})
	return nil
}

// servicePrincipalOID is the object id of the client's service principal in the tenant: a
// stable GUID derived from the client id.
func servicePrincipalOID(clientID string) string {
	b := sha256.Sum256([]byte("service-principal|" + clientID))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
