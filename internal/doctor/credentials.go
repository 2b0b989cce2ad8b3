package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/secret"
)

// clientAuth adds the client's credentials to a token request. Each client-authentication
// mode is one implementation (today client_secret_post and client_secret_basic); a new mode
// (certificate, workload identity) adds one and a case in clientAuthFor, and the probe and
// its diagnosis stay as they are.
type clientAuth interface {
	// apply adds the credentials to the form or the request headers.
	apply(form url.Values, h http.Header) error
	// renew says how to replace a credential the provider rejected.
	renew(clientID string) string
}

// secretAuth sends a client secret in the form (client_secret_post) or as HTTP Basic
// (client_secret_basic, with the RFC 6749 §2.3.1 form-encoding of both parts).
type secretAuth struct {
	clientID string
	secret   secret.String
	basic    bool
}

var _ clientAuth = secretAuth{}

func (a secretAuth) apply(form url.Values, h http.Header) error {
	if a.secret.IsEmpty() {
		return errors.New("no client secret configured (provider.clientSecret or provider.clientSecretFile)")
	}
	if a.basic {
		req := http.Request{Header: h}
		req.SetBasicAuth(url.QueryEscape(a.clientID), url.QueryEscape(a.secret.Reveal()))
		return nil
	}
	form.Set("client_id", a.clientID)
	form.Set("client_secret", a.secret.Reveal())
	return nil
}

func (a secretAuth) renew(clientID string) string {
	return fmt.Sprintf("in the app registration %s → Certificates & secrets, create a new client secret and put its Value (not its Secret ID) in provider.clientSecret or the file named by provider.clientSecretFile", clientID)
}

// clientAuthFor picks the implementation for the configured mode.
func clientAuthFor(p config.Provider) (clientAuth, error) {
	switch p.ClientAuthMethod {
	case config.AuthClientSecretPost, "":
		return secretAuth{clientID: p.ClientID, secret: p.ClientSecret}, nil
	case config.AuthClientSecretBasic:
		return secretAuth{clientID: p.ClientID, secret: p.ClientSecret, basic: true}, nil
	}
	return nil, fmt.Errorf("provider.clientAuthMethod %q is not a mode doctor knows", p.ClientAuthMethod)
}

// tokenError is the JSON error answer of a token endpoint, with Entra's additions.
type tokenError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
	SubError    string `json:"suberror"`
}

// aadsts is Entra's error number: error_codes[0], else the one the description starts with.
func (e tokenError) aadsts() int {
	if len(e.Codes) > 0 {
		return e.Codes[0]
	}
	if m := aadstsPattern.FindStringSubmatch(e.Description); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

var aadstsPattern = regexp.MustCompile(`AADSTS(\d+)`)

// checkCredentials is check 4: a client_credentials request for <resource>/.default, which
// Entra allows any confidential client. Only the client's authentication matters: an
// invalid_client or unauthorized_client answer is the diagnosis, any other answer means the
// provider got past the credentials. A token it may return is read and thrown away.
func checkCredentials(ctx context.Context, client *http.Client, cfg *config.Config, d *discovered) Result {
	const name = "client credentials"
	if d == nil || d.TokenEndpoint == "" {
		return Result{Status: Warn, Name: name, Detail: "not checked: discovery gave no token endpoint"}
	}
	auth, err := clientAuthFor(cfg.Provider)
	if err != nil {
		return Result{Status: Fail, Name: name, Detail: err.Error(), Fix: "use client_secret_post or client_secret_basic"}
	}
	res := config.AKSServerAppID
	if r := resources(strings.Fields(cfg.Provider.ResourceScope)); len(r) > 0 {
		res = r[0]
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {res + "/.default"}}
	ctx, cancel := context.WithTimeout(ctx, providerTimeout(cfg))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.TokenEndpoint, nil)
	if err != nil {
		return Result{Status: Fail, Name: name, Detail: fmt.Sprintf("token endpoint %q: %v", d.TokenEndpoint, err)}
	}
	if err := auth.apply(form, req.Header); err != nil {
		return Result{Status: Fail, Name: name, Detail: err.Error(), Fix: auth.renew(cfg.Provider.ClientID)}
	}
	req.Body = io.NopCloser(strings.NewReader(form.Encode()))
	req.ContentLength = int64(len(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return Result{Status: Fail, Name: name, Detail: fmt.Sprintf("POST %s: %v", d.TokenEndpoint, unwrapURLError(err)),
			Fix: "check that tokengate's network reaches the token endpoint"}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes)) // a short read only shortens the diagnosis
	if resp.StatusCode == http.StatusOK {
		return Result{Status: OK, Name: name, Detail: fmt.Sprintf("accepted: the token endpoint issued an app-only token for %s/.default (discarded unread)", res)}
	}
	var te tokenError
	_ = json.Unmarshal(body, &te) // not JSON: te stays empty and judgeCredentials says so
	return judgeCredentials(resp.StatusCode, te, cfg, auth)
}

// judgeCredentials turns a token endpoint's refusal of the probe into the diagnosis.
func judgeCredentials(status int, te tokenError, cfg *config.Config, auth clientAuth) Result {
	const name = "client credentials"
	id := cfg.Provider.ClientID
	said := strings.TrimSpace(te.Error + " " + firstLine(te.Description))
	code := te.aadsts()
	switch {
	case code == 7000215:
		return Result{Status: Fail, Name: name, Detail: "the provider rejected the client secret as invalid (AADSTS7000215): a wrong secret, or its Secret ID instead of its Value", Fix: auth.renew(id)}
	case code == 7000222:
		return Result{Status: Fail, Name: name, Detail: "the client secret has expired (AADSTS7000222)", Fix: auth.renew(id)}
	case code == 700016 || te.Error == "unauthorized_client":
		return Result{Status: Fail, Name: name,
			Detail: fmt.Sprintf("the provider knows no application %s in this tenant (%s): a wrong client id or a wrong tenant", id, said),
			Fix:    "set provider.clientID to the Application (client) ID of the app registration, and name its home tenant in provider.issuerURL"}
	case code == 90002:
		return Result{Status: Fail, Name: name, Detail: "the tenant does not exist (AADSTS90002)", Fix: "check the tenant id in provider.issuerURL"}
	case te.Error == "invalid_client":
		return Result{Status: Fail, Name: name, Detail: "the provider rejected the client credentials: " + said, Fix: auth.renew(id)}
	case status >= http.StatusInternalServerError || status == http.StatusTooManyRequests || te.Error == "temporarily_unavailable":
		return Result{Status: Fail, Name: name, Detail: fmt.Sprintf("could not tell: the token endpoint answered %d %s", status, said),
			Fix: "run doctor again; if it persists the identity provider is having an outage"}
	case te.Error == "":
		return Result{Status: Warn, Name: name, Detail: fmt.Sprintf("could not tell: the token endpoint answered %d without an OAuth error", status)}
	}
	return Result{Status: OK, Name: name,
		Detail: fmt.Sprintf("accepted: the provider authenticated the client, then refused the app-only probe itself (%s), which is expected and harmless", said)}
}

// firstLine keeps "AADSTS7000215: Invalid client secret provided…" and drops Entra's trace
// and correlation ids.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	s = strings.TrimSpace(strings.TrimSuffix(s, "\r"))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
