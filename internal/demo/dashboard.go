package demo

import (
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// AKSServerAppID is the audience a Kubernetes API server with AKS-managed Entra integration
// accepts.
const AKSServerAppID = "6dae42f8-4368-4678-94ff-3960e28e3630"

// Dashboard is a sample Kubernetes dashboard. Like Headlamp behind an ingress, it takes the
// bearer token the proxy put on the request. With APIServer set it calls that real API server
// as the user and shows its answers; in any case it also checks the token locally, the way AKS
// does (v1 issuer, AKS audience), and says plainly that this check is its own.
type Dashboard struct {
	// APIServer, when set, is called as the user; APIServerName names it on the page.
	APIServer     APIServer
	APIServerName string

	// AccessTokenIssuer is the v1 issuer AKS trusts (https://sts.windows.net/<tenant>/ in Entra).
	AccessTokenIssuer string
	// GroupName turns a group object id into a display name, for people.
	GroupName func(id string) string
	// SignOutURL is tokengate's sign-out endpoint.
	SignOutURL string
	HTTPClient *http.Client

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier // discovered once, like an API server at start-up
}

// View is what the dashboard received, what the local check decided and, with a real API
// server, what that server answered.
type View struct {
	User   string       `json:"user"`
	Email  string       `json:"email"`
	Groups []GroupView  `json:"groups"`
	Token  TokenSummary `json:"token"`
	// LocalCheck is the dashboard's own verification as AKS would do it: "accepted" or the
	// reason an AKS API server would answer 401. It is not an API server's verdict.
	LocalCheck string `json:"localCheck"`
	// Cluster is what the real API server answered; nil when the demo runs none.
	Cluster       *ClusterVerdict `json:"cluster,omitempty"`
	SignOutURL    string          `json:"-"`
	HeadersLength int             `json:"authorizationHeaderBytes"`
	// Overage: the token carries Entra's groups overage claim instead of groups.
	Overage bool `json:"groupsOverage"`
	// Explanation is doctor's report on the token, on /explain only.
	Explanation string `json:"-"`
}

// GroupView names one group of the user.
type GroupView struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// TokenSummary describes the access token without showing it.
type TokenSummary struct {
	Audience  string    `json:"aud"`
	Issuer    string    `json:"iss"`
	Version   string    `json:"ver"`
	Scope     string    `json:"scp"`
	UPN       string    `json:"upn"`
	OID       string    `json:"oid"`
	ExpiresAt time.Time `json:"exp"`
}

func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	view := d.inspect(r.Context(), r)
	if r.URL.Path == explainPath {
		view.Explanation = explain(r.Header.Get("Authorization"))
	}
	w.Header().Set("Cache-Control", "no-store")
	if strings.HasPrefix(r.URL.Path, "/api/") {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(view)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = dashboardPage.Execute(w, view)
}

func (d *Dashboard) inspect(ctx context.Context, r *http.Request) View {
	authz := r.Header.Get("Authorization")
	view := View{
		User:          r.Header.Get("X-Auth-Request-User"),
		Email:         r.Header.Get("X-Auth-Request-Email"),
		SignOutURL:    d.SignOutURL,
		HeadersLength: len(authz),
	}
	raw, ok := strings.CutPrefix(authz, "Bearer ")
	if !ok {
		view.LocalCheck = "401: no bearer token on the request"
		return view
	}
	if d.APIServer != nil {
		view.Cluster = d.askAPIServer(ctx, raw)
	}
	ctx = oidc.ClientContext(ctx, d.HTTPClient)
	verifier, err := d.apiServerVerifier(ctx)
	if err != nil {
		view.LocalCheck = "cannot reach the token issuer: " + err.Error()
		return view
	}
	tok, err := verifier.Verify(ctx, raw)
	if err != nil {
		view.LocalCheck = "401: " + err.Error()
		return view
	}
	var claims struct {
		Aud    string   `json:"aud"`
		Ver    string   `json:"ver"`
		Scp    string   `json:"scp"`
		UPN    string   `json:"upn"`
		OID    string   `json:"oid"`
		Groups []string `json:"groups"`
		// ClaimNames is Entra's groups overage: {"groups": "src1"} instead of groups.
		ClaimNames map[string]string `json:"_claim_names"`
	}
	if err := tok.Claims(&claims); err != nil {
		view.LocalCheck = "401: unreadable claims"
		return view
	}
	view.LocalCheck = "accepted"
	view.Token = TokenSummary{Audience: claims.Aud, Issuer: tok.Issuer, Version: claims.Ver,
		Scope: claims.Scp, UPN: claims.UPN, OID: claims.OID, ExpiresAt: tok.Expiry.UTC()}
	view.Overage = claims.ClaimNames["groups"] != ""
	for _, id := range claims.Groups {
		g := GroupView{ID: id}
		if d.GroupName != nil {
			g.Name = d.GroupName(id)
		}
		view.Groups = append(view.Groups, g)
	}
	return view
}

// apiServerVerifier checks tokens as AKS does: the v1 issuer and the AKS audience.
func (d *Dashboard) apiServerVerifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.verifier == nil {
		provider, err := oidc.NewProvider(ctx, d.AccessTokenIssuer)
		if err != nil {
			return nil, err
		}
		d.verifier = provider.Verifier(&oidc.Config{ClientID: AKSServerAppID})
	}
	return d.verifier, nil
}

var dashboardPage = template.Must(template.New("dashboard").Funcs(template.FuncMap{
	"until":  func(t time.Time) string { return time.Until(t).Round(time.Second).String() },
	"aksApp": func() string { return AKSServerAppID },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sample dashboard · tokengate demo</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem;color:#1f2328}
table{border-collapse:collapse}td,th{text-align:left;padding:.25rem .75rem;border-bottom:1px solid #d0d7de}
.note{background:#ddf4ff;border:1px solid #54aeff;padding:.5rem .75rem;border-radius:6px}pre{white-space:pre-wrap;background:#f6f8fa;padding:.75rem}
.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}code{background:#f6f8fa;padding:0 .25rem}</style>
</head><body>
<h1>Sample Kubernetes dashboard</h1>
<p>This page stands behind a forward-auth proxy that asks tokengate about every request.</p>
{{with .Cluster}}<h2>Kubernetes API server {{.Server}} answered</h2>
{{if .Error}}<p class="bad">could not ask it: {{.Error}}</p>{{else}}<table>
<tr><th>kubectl auth whoami</th><td>{{if eq .WhoAmI 201}}<span class="ok">{{.Username}}</span>, groups {{range .Groups}}<code>{{.}}</code> {{end}}{{else}}<span class="bad">{{.WhoAmI}}: token refused</span>{{end}}</td></tr>
<tr><th>GET <code>{{.ListPath}}</code></th><td>{{if eq .ListStatus 200}}<span class="ok">200</span>{{else}}<span class="bad">{{.ListStatus}}</span>{{end}} {{.ListDetail}}</td></tr>
</table>{{end}}
{{else}}<h2>Checked locally: no Kubernetes API server in this demo</h2>
<p>Run <code>make kube</code> once (it builds kube-apiserver and etcd into bin/) and <code>make demo</code> again
to see what a real API server answers.</p>{{end}}
<p>Local check, as an AKS API server verifies tokens (not its verdict):
{{if eq .LocalCheck "accepted"}}<span class="ok">it would accept this token</span>{{else}}<span class="bad">{{.LocalCheck}}</span>{{end}}</p>
<table>
<tr><th>User (X-Auth-Request-User)</th><td>{{.User}}</td></tr>
<tr><th>Email</th><td>{{.Email}}</td></tr>
<tr><th>Token audience (aud)</th><td><code>{{.Token.Audience}}</code></td></tr>
<tr><th>Token issuer (iss)</th><td><code>{{.Token.Issuer}}</code></td></tr>
<tr><th>Token version / scope</th><td>{{.Token.Version}} / {{.Token.Scope}}</td></tr>
<tr><th>upn</th><td>{{if .Token.UPN}}{{.Token.UPN}}{{else if eq .LocalCheck "accepted"}}<em>none</em>: Entra issues no <code>upn</code> for guest (B2B) accounts, so AKS names this user by object id <code>{{.Token.OID}}</code>. Bind guests in Kubernetes RBAC by that oid.{{end}}</td></tr>
<tr><th>Expires</th><td>{{if not .Token.ExpiresAt.IsZero}}{{.Token.ExpiresAt.Format "15:04:05 MST"}} (in {{until .Token.ExpiresAt}}){{end}}</td></tr>
<tr><th>Authorization header</th><td>{{.HeadersLength}} bytes (the token itself is not shown)</td></tr>
</table>
<h2>Groups ({{len .Groups}})</h2>
{{if .Overage}}<p class="note">No groups in the token: this user is in more than 200 groups, so
Entra replaced the <code>groups</code> claim with a groups overage claim
(<code>_claim_names.groups</code>). The AKS API server looks the groups up itself; tokengate does
the same for its own allow-lists (<code>graphGroupLookup</code>) with Microsoft Graph
<a href="https://learn.microsoft.com/en-us/graph/api/directoryobject-getmemberobjects">getMemberObjects</a>.
See <a href="https://learn.microsoft.com/en-us/security/zero-trust/develop/configure-tokens-group-claims-app-roles">group claims and overage</a>.</p>{{end}}
<ul>{{range .Groups}}<li>{{if .Name}}{{.Name}} {{end}}<code>{{.ID}}</code></li>{{end}}</ul>
<h2>What would the API server say?</h2>
{{if .Explanation}}<pre>{{.Explanation}}</pre>{{else}}<p><a href="/explain">Explain this token</a>: the report
<code>tokengate doctor --token</code> gives, run here on the token this dashboard received (the
token itself is never shown).</p>{{end}}
<p>On a real cluster, explain your own AKS token the same way:<br>
<code>kubelogin get-token --login azurecli --server-id {{aksApp}} | jq -r .status.token | tokengate doctor --token -</code></p>
<p><a href="{{.SignOutURL}}">Sign out</a></p>
</body></html>
`))
