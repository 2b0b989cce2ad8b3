package devidp

import (
	"bytes"
	"html/template"
	"net/http"
	"sort"
)

// pageStyle dresses both pages like a sign-in page. The Content-Security-Policy of writeHTML
// allows inline styles and nothing else.
const pageStyle = `<meta name="viewport" content="width=device-width"><style>
body{font:15px/1.5 "Segoe UI",system-ui,sans-serif;background:#f2f2f2;color:#1b1b1b;margin:0}
main{background:#fff;max-width:26rem;margin:4rem auto;padding:2.5rem 2.75rem;box-shadow:0 2px 6px rgba(0,0,0,.2)}
h1{font-size:1.5rem;font-weight:600;margin:0 0 .5rem}h2{font-size:1rem;margin-top:2rem}
label{display:block;font-size:.9rem}input:not([type=hidden]){display:block;width:100%;box-sizing:border-box;
border:0;border-bottom:1px solid #666;padding:.4rem 0;font:inherit;margin-top:.2rem}
button{font:inherit;padding:.35rem 1.5rem;border:0;margin-right:.5rem;cursor:pointer}
button[value=signin]{background:#0067b8;color:#fff}button[value=cancel]{background:#ccc}
#error{color:#e81123}.note{color:#666;font-size:.85rem}code{background:#f2f2f2;padding:0 .2rem}
</style>`

// loginTemplate is the sign-in page. It is plain HTML so tests can drive it like a browser:
// GET the authorization URL, read the hidden inputs, POST them back with a cookie jar.
//
// The form posts (application/x-www-form-urlencoded) to the authorization endpoint with:
//   - the authorization request as hidden inputs, one per line, written exactly as
//     <input type="hidden" name="NAME" value="VALUE"> (VALUE HTML-escaped), for NAME in
//     client_id, redirect_uri, response_type, response_mode, scope, state, nonce,
//     code_challenge, code_challenge_method, prompt, login_hint;
//   - username (a User.Username or UPN) and password;
//   - action: "signin" to sign in, "cancel" to decline (→ error=access_denied, AADSTS65004).
//
// A wrong password renders the form again, status 200, with the error in an element with
// id="error".
var loginTemplate = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in to your account · devidp</title>
` + pageStyle + `</head>
<body><main>
<h1>Sign in</h1>
<p class="note">devidp, the development identity provider standing in for Microsoft Entra ID. Not for production.</p>
{{if .Error}}<p id="error" role="alert">{{.Error}}</p>
{{end}}<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<p><label>Username <input name="username" value="{{.Username}}" autocomplete="username" autofocus></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password"></label></p>
<p><button type="submit" name="action" value="signin">Sign in</button>
<button type="submit" name="action" value="cancel">Cancel</button></p>
</form>
<h2>Accounts</h2>
<ul>
{{range .Users}}<li><code>{{.Username}}</code>: {{.Name}}</li>
{{end}}</ul>
<p class="note">The sample accounts' password is <code>password</code>.</p>
</main></body>
</html>
`))

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Title}} · devidp</title>
` + pageStyle + `</head>
<body><main>
<h1>{{.Title}}</h1>
<p id="message">{{.Text}}</p>
</main></body>
</html>
`))

type hiddenField struct{ Name, Value string }

type loginView struct {
	Action, Username, Error string
	Hidden                  []hiddenField
	Users                   []*User
}

func (p *Provider) renderLogin(w http.ResponseWriter, req *authRequest, username, errMsg string) {
	// A path, not p.base: the form posts back to wherever the browser reached the page.
	v := loginView{Action: "/" + p.cfg.TenantID + "/oauth2/v2.0/authorize", Username: username, Error: errMsg}
	for _, name := range authParams {
		if val := req.params.Get(name); val != "" {
			v.Hidden = append(v.Hidden, hiddenField{Name: name, Value: val})
		}
	}
	for _, u := range p.users {
		v.Users = append(v.Users, u)
	}
	sort.Slice(v.Users, func(i, j int) bool { return v.Users[i].Username < v.Users[j].Username })
	writeHTML(w, http.StatusOK, loginTemplate, v)
}

// renderPage shows a message page: errors that must not be redirected, and "signed out".
func (p *Provider) renderPage(w http.ResponseWriter, status int, title, text string) {
	writeHTML(w, status, pageTemplate, struct{ Title, Text string }{title, text})
}

func writeHTML(w http.ResponseWriter, status int, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		// The templates are fixed and their data plain strings: this is a bug.
		http.Error(w, "devidp: render page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
