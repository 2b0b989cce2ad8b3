package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/idp"
)

// renewAdvice says how to replace the credential of the configured client-authentication
// mode when the provider rejects it.
func renewAdvice(p config.Provider) string {
	switch p.ClientAuth {
	case config.ClientAuthCertificate:
		return fmt.Sprintf("in the app registration %s → Certificates & secrets → Certificates, upload the certificate of provider.certificate.certFile (its public part), or point certFile and keyFile at the one that is uploaded", p.ClientID)
	case config.ClientAuthWorkloadIdentity:
		return fmt.Sprintf("in the app registration %s → Certificates & secrets → Federated credentials, add one for the cluster's OIDC issuer and subject system:serviceaccount:<namespace>:<service account>, audience api://AzureADTokenExchange; check the pod has the label azure.workload.identity/use: \"true\"", p.ClientID)
	}
	return fmt.Sprintf("in the app registration %s → Certificates & secrets, create a new client secret and put its Value (not its Secret ID) in provider.clientSecret or the file named by provider.clientSecretFile", p.ClientID)
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
// Entra allows any confidential client, sent with the configured client authentication
// (secret, certificate or workload identity) by the same client tokengate serves with. Only
// the client's authentication matters: an invalid_client or unauthorized_client answer is the
// diagnosis, any other answer means the provider got past the credentials. A token it may
// return is thrown away unread.
func checkCredentials(ctx context.Context, client *http.Client, cfg *config.Config, d *discovered) Result {
	const name = "client credentials"
	if d == nil || d.TokenEndpoint == "" {
		return Result{Status: Warn, Name: name, Detail: "not checked: discovery gave no token endpoint"}
	}
	renew := renewAdvice(cfg.Provider)
	auth, err := idp.ClientAuthFromConfig(cfg.Provider)
	if err != nil {
		return Result{Status: Fail, Name: name, Detail: err.Error(), Fix: renew}
	}
	method := cfg.Provider.ClientAuthMethod
	if method == "" {
		method = config.AuthClientSecretPost
	}
	// The issuer the provider names itself: a mismatch is check 2's finding, and the
	// credentials can still be judged at the token endpoint it publishes.
	issuer := cfg.Provider.IssuerURL
	if d.Issuer != "" {
		issuer = d.Issuer
	}
	c, err := idp.New(idp.Config{
		IssuerURL: issuer, ClientID: cfg.Provider.ClientID, ClientSecret: cfg.Provider.ClientSecret,
		AuthMethod: method, ClientAuth: auth, RedirectURL: cfg.RedirectURL(), SignInScopes: cfg.SignInScopes(), HTTPClient: client,
	})
	if err != nil {
		return Result{Status: Fail, Name: name, Detail: err.Error()}
	}
	res := config.AKSServerAppID
	if r := resources(strings.Fields(cfg.Provider.ResourceScope)); len(r) > 0 {
		res = r[0]
	}
	ctx, cancel := context.WithTimeout(ctx, providerTimeout(cfg))
	defer cancel()
	if err := c.Discover(ctx); err != nil {
		return Result{Status: Warn, Name: name, Detail: "not checked: the issuer's discovery failed (see above)"}
	}
	err = c.ProbeClientCredentials(ctx, res)
	var pe *idp.ProviderError
	switch {
	case err == nil:
		return Result{Status: OK, Name: name, Detail: fmt.Sprintf("accepted: the token endpoint issued an app-only token for %s/.default (discarded unread)", res)}
	case errors.As(err, &pe):
		te := tokenError{Error: pe.Code, Description: pe.Description, SubError: pe.SubError}
		if pe.AADSTS != 0 {
			te.Codes = []int{pe.AADSTS}
		}
		return judgeCredentials(pe.Status, te, cfg, renew)
	case errors.Is(err, idp.ErrUnavailable):
		return Result{Status: Fail, Name: name, Detail: "could not tell: " + unwrapURLError(err).Error(),
			Fix: "check that tokengate's network reaches the token endpoint; if it does, the identity provider is having an outage"}
	}
	return Result{Status: Fail, Name: name, Detail: err.Error(), Fix: renew}
}

// judgeCredentials turns a token endpoint's refusal of the probe into the diagnosis.
func judgeCredentials(status int, te tokenError, cfg *config.Config, renew string) Result {
	const name = "client credentials"
	id := cfg.Provider.ClientID
	said := strings.TrimSpace(te.Error + " " + firstLine(te.Description))
	code := te.aadsts()
	switch {
	case code == 7000215:
		return Result{Status: Fail, Name: name, Detail: "the provider rejected the client secret as invalid (AADSTS7000215): a wrong secret, or its Secret ID instead of its Value", Fix: renew}
	case code == 700024:
		return Result{Status: Fail, Name: name, Detail: "the client assertion has expired (AADSTS700024): the federated token file is stale", Fix: "check that the kubelet refreshes the projected service-account token and that provider.workloadIdentity.tokenFile points at it"}
	case code == 70021:
		return Result{Status: Fail, Name: name, Detail: "no federated credential matches the token's issuer, subject and audience (AADSTS70021)", Fix: renew}
	case code == 7000222:
		return Result{Status: Fail, Name: name, Detail: "the client secret has expired (AADSTS7000222)", Fix: renew}
	case code == 700016 || te.Error == "unauthorized_client":
		return Result{Status: Fail, Name: name,
			Detail: fmt.Sprintf("the provider knows no application %s in this tenant (%s): a wrong client id or a wrong tenant", id, said),
			Fix:    "set provider.clientID to the Application (client) ID of the app registration, and name its home tenant in provider.issuerURL"}
	case code == 90002:
		return Result{Status: Fail, Name: name, Detail: "the tenant does not exist (AADSTS90002)", Fix: "check the tenant id in provider.issuerURL"}
	case te.Error == "invalid_client":
		return Result{Status: Fail, Name: name, Detail: "the provider rejected the client credentials: " + said, Fix: renew}
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
