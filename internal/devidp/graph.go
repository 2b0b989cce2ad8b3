package devidp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/internal/jwtpeek"
)

// The Microsoft Graph stand-in answers POST /graph/v1.0/me/getMemberObjects, the call
// tokengate makes to learn the groups of a user whose token carried the groups overage claim
// instead of the groups (ENTRA.md, "Groups overage").
//
// Microsoft's reference for directoryObject: getMemberObjects ("Memberships for the signed-in
// user") names User.Read as the least privileged delegated permission for /me, so that is the
// scope a client asks for; the answer is not paged (Graph returns up to 11,000 ids, or 400
// Directory_ResultSizeLimitExceeded beyond that).

// memberReadPermissions are the delegated permissions that let a token read its own user's
// memberships, least privileged first (from the same reference).
var memberReadPermissions = []string{
	"User.Read", "User.Read.All", "Directory.Read.All", "User.ReadWrite.All", "Directory.ReadWrite.All",
}

// maxGraphBody bounds a Graph request body; the one we accept is a single boolean.
const maxGraphBody = 64 << 10

// GraphURL is where the Microsoft Graph stand-in is served: BaseURL/graph, in place of
// https://graph.microsoft.com (so a client calls GraphURL()+"/v1.0/me/getMemberObjects").
func (p *Provider) GraphURL() string { return p.cfg.BaseURL + "/graph" }

// GraphCalls counts requests to the Graph stand-in, including refused ones.
func (p *Provider) GraphCalls() int {
	p.graph.mu.Lock()
	defer p.graph.mu.Unlock()
	return p.graph.calls
}

// graphState remembers, for every Graph token issued, the header that was really signed:
// Graph tokens publish a hashed nonce in place of the signed one (keys.go, signGraph), so
// only their issuer can check them — the stand-in plays that part. The zero value is ready.
type graphState struct {
	mu     sync.Mutex
	signed map[string]graphIssued // by the published header segment, unique per token
	calls  int
}

type graphIssued struct {
	header  string // the signed header segment
	expires time.Time
}

// issueGraphToken signs a Graph access token and remembers its signed header until expiry.
func (p *Provider) issueGraphToken(claims map[string]any) (string, error) {
	tok, signedHeader, err := p.key.signGraph(claims)
	if err != nil {
		return "", err
	}
	exp, _ := claims["exp"].(int64) // set by accessToken
	published, _, _ := strings.Cut(tok, ".")
	now := p.now()
	g := &p.graph
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.signed == nil {
		g.signed = make(map[string]graphIssued)
	}
	for k, v := range g.signed {
		if now.After(v.expires.Add(retention)) {
			delete(g.signed, k)
		}
	}
	g.signed[published] = graphIssued{header: signedHeader, expires: time.Unix(exp, 0)}
	return tok, nil
}

// graphError is an error answer in Graph's shape, which differs from the token endpoint's.
type graphError struct {
	status        int
	code, message string
}

// graphClaims are the access token claims the stand-in checks.
type graphClaims struct {
	Issuer    string `json:"iss"`
	Audience  string `json:"aud"`
	Expiry    int64  `json:"exp"`
	NotBefore int64  `json:"nbf"`
	OID       string `json:"oid"`
	Scopes    string `json:"scp"`
}

// getMemberObjects answers with every group id of the token's user (devidp has no nested
// groups, so direct membership is the transitive one).
func (p *Provider) getMemberObjects(w http.ResponseWriter, r *http.Request) {
	p.graph.mu.Lock()
	p.graph.calls++
	p.graph.mu.Unlock()
	if mode := p.echoMode(); mode != EchoOff {
		writeEcho(w, mode, true, echoRequest(r, nil))
		return
	}
	claims, gerr := p.authenticateGraph(r)
	if gerr == nil && !slices.ContainsFunc(strings.Fields(claims.Scopes), grantsMemberRead) {
		gerr = &graphError{status: http.StatusForbidden, code: "Authorization_RequestDenied",
			message: "Insufficient privileges to complete the operation."}
	}
	if gerr == nil {
		gerr = checkMemberObjectsBody(w, r)
	}
	var user *User
	if gerr == nil {
		if user = p.userByOID(claims.OID); user == nil {
			gerr = &graphError{status: http.StatusNotFound, code: "Request_ResourceNotFound",
				message: fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", claims.OID)}
		}
	}
	if gerr != nil {
		p.writeGraphError(w, r, gerr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)",
		"value":          append([]string{}, user.Groups...),
	})
}

// authenticateGraph checks the bearer token as Graph would: our signature over the header
// that was really signed, issuer, audience Graph, and lifetime on the provider's clock.
func (p *Provider) authenticateGraph(r *http.Request) (*graphClaims, *graphError) {
	deny := func(msg string) *graphError {
		return &graphError{status: http.StatusUnauthorized, code: "InvalidAuthenticationToken", message: msg}
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return nil, deny("Access token is empty.")
	}
	parts, err := jwtpeek.Split(strings.TrimSpace(tok))
	if err != nil {
		return nil, deny("IDX14100: JWT is not well formed, there are no dots (.).")
	}
	p.graph.mu.Lock()
	if issued, ok := p.graph.signed[parts.Header]; ok {
		parts.Header = issued.header
	}
	p.graph.mu.Unlock()
	jws, err := jose.ParseSignedCompact(parts.Compact(), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, deny("IDX14100: JWT is not well formed.")
	}
	payload, err := jws.Verify(&p.key.priv.PublicKey)
	if err != nil {
		return nil, deny("Access token validation failure. Invalid signature.")
	}
	var c graphClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, deny("IDX14100: JWT is not well formed.")
	}
	now := p.now()
	switch {
	case c.Audience != GraphResource && c.Audience != "https://graph.microsoft.com":
		return nil, deny("Access token validation failure. Invalid audience.")
	case c.Issuer != p.AccessTokenIssuer():
		return nil, deny("Access token validation failure. Invalid issuer.")
	case !now.Before(time.Unix(c.Expiry, 0)):
		return nil, deny("Lifetime validation failed, the token is expired.")
	case now.Before(time.Unix(c.NotBefore, 0)):
		return nil, deny("Lifetime validation failed, the token is not yet valid.")
	}
	return &c, nil
}

func grantsMemberRead(scope string) bool {
	return slices.ContainsFunc(memberReadPermissions, func(p string) bool { return strings.EqualFold(p, scope) })
}

// checkMemberObjectsBody requires Graph's one parameter, securityEnabledOnly. Every devidp
// group counts as a security group, so its value does not change the answer.
func checkMemberObjectsBody(w http.ResponseWriter, r *http.Request) *graphError {
	var body struct {
		SecurityEnabledOnly *bool `json:"securityEnabledOnly"`
	}
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxGraphBody)).Decode(&body)
	if err != nil || body.SecurityEnabledOnly == nil {
		return &graphError{status: http.StatusBadRequest, code: "Request_BadRequest",
			message: "Invalid request body: securityEnabledOnly (a boolean) is required."}
	}
	return nil
}

func (p *Provider) userByOID(oid string) *User {
	for _, u := range p.users {
		if u.OID == oid {
			return u
		}
	}
	return nil
}

// writeGraphError answers in Graph's error shape; a 401 names the authority to get a token
// from, as Graph's WWW-Authenticate does.
func (p *Provider) writeGraphError(w http.ResponseWriter, r *http.Request, e *graphError) {
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="", authorization_uri="%s/oauth2/authorize", client_id="%s"`, p.base, GraphResource))
	}
	clientRequest := r.Header.Get("client-request-id")
	if !isGUID(clientRequest) {
		clientRequest = newGUID()
	}
	writeJSON(w, e.status, map[string]any{"error": map[string]any{
		"code": e.code, "message": e.message,
		"innerError": map[string]string{
			"date":              p.now().UTC().Format(time.RFC3339),
			"request-id":        newGUID(),
			"client-request-id": clientRequest,
		},
	}})
}
