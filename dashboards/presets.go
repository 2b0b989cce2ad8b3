package dashboards

import "github.com/tokengate/tokengate/internal/config"

// preset is what a one-line `preset: name` fills in. Scopes are left to the provider's
// resource scope (the AKS server app by default): a preset never asks for a second resource.
type preset struct {
	kind    string
	headers map[string]string
}

// identityHeaders are the oauth2-proxy-compatible user headers most dashboards log or show.
var identityHeaders = map[string]string{
	"X-Auth-Request-User":  "${user}",
	"X-Auth-Request-Email": "${email}",
}

func withIdentity(extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range identityHeaders {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// presets are the dashboards people protect most.
var presets = map[string]preset{
	// Headlamp and Kubernetes Dashboard call the Kubernetes API with the Authorization header
	// they receive: it must be the AKS access token, never the id_token.
	"headlamp":             {kind: config.TokenAccess, headers: withIdentity(map[string]string{"Authorization": "Bearer ${token}"})},
	"kubernetes-dashboard": {kind: config.TokenAccess, headers: withIdentity(map[string]string{"Authorization": "Bearer ${token}"})},
	// Headlamp ≥ 0.43 started with -proxy-auth reads the user from X-Forwarded-* and the
	// token, without "Bearer ", from X-Forwarded-Id-Token (a misnomer: it is sent to the API).
	"headlamp-proxy-auth": {kind: config.TokenAccess, headers: map[string]string{
		"X-Forwarded-User":     "${user}",
		"X-Forwarded-Email":    "${email}",
		"X-Forwarded-Group":    "${groups}",
		"X-Forwarded-Id-Token": "${token}",
	}},
	// Grafana's auth proxy trusts these headers and needs no token.
	"grafana": {kind: config.TokenNone, headers: map[string]string{
		"X-WEBAUTH-USER":  "${user}",
		"X-WEBAUTH-EMAIL": "${email}",
		"X-WEBAUTH-NAME":  "${name}",
	}},
	// AKS structured authentication with a non-Entra issuer validates the issuer's id_token.
	"structured-auth": {kind: config.TokenID, headers: withIdentity(map[string]string{"Authorization": "Bearer ${token}"})},
}

// PresetNames lists the known presets, for messages.
func PresetNames() []string {
	return []string{"headlamp", "kubernetes-dashboard", "headlamp-proxy-auth", "grafana", "structured-auth"}
}
