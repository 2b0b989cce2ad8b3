package doctor

import (
	"fmt"
	"net/url"

	"github.com/tokengate/tokengate/internal/config"
)

// checkRedirect is check 3: the redirect URI tokengate sends is one Entra accepts for a web
// app (https, or http only for localhost), and the operator is told the exact string to
// register, since anything else is AADSTS50011 at the first sign-in.
func checkRedirect(cfg *config.Config) Result {
	const name = "redirect URI"
	redirect := cfg.RedirectURL()
	u, err := url.Parse(redirect)
	if cfg.PublicURL == "" || err != nil || !u.IsAbs() || u.Host == "" {
		return Result{Status: Fail, Name: name, Detail: fmt.Sprintf("publicURL %q gives no absolute redirect URI", cfg.PublicURL),
			Fix: "set publicURL to where browsers reach tokengate, e.g. https://auth.example.com"}
	}
	register := fmt.Sprintf("register exactly %s as a Web redirect URI of app %s (Entra answers AADSTS50011 for any other string)",
		redirect, clientIDOrPlaceholder(cfg))
	switch {
	case u.User != nil:
		return Result{Status: Fail, Name: name, Detail: "publicURL carries user info", Fix: "remove user:password@ from publicURL"}
	case u.RawQuery != "" || u.Fragment != "":
		return Result{Status: Fail, Name: name, Detail: fmt.Sprintf("%s has a query or fragment; redirect URIs may not", redirect),
			Fix: "remove them from publicURL"}
	case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
		return Result{Status: Fail, Name: name,
			Detail: fmt.Sprintf("%s is plain http: Entra accepts http redirect URIs only for localhost, and the Secure session cookie would not be sent", redirect),
			Fix:    "serve tokengate over https and set publicURL: https://" + u.Host}
	case u.Scheme != "http" && u.Scheme != "https":
		return Result{Status: Fail, Name: name, Detail: fmt.Sprintf("%s has scheme %q", redirect, u.Scheme), Fix: "use https"}
	}
	return Result{Status: OK, Name: name, Detail: register}
}

func clientIDOrPlaceholder(cfg *config.Config) string {
	if cfg.Provider.ClientID == "" {
		return "<provider.clientID>"
	}
	return cfg.Provider.ClientID
}

func isLoopbackHost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
