package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/dashboards"
	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/jwtpeek"
	"github.com/tokengate/tokengate/session"
)

// debugPath is the sign-in debug page.
const debugPath = "/oauth2/debug"

// debugView is what /oauth2/debug shows: what an on-call engineer would otherwise paste into
// jwt.io, without a token ever leaving tokengate. It holds decoded JSON and decisions only.
type debugView struct {
	Now              string
	User, Subject    string
	TenantID         string
	Groups           []string
	GroupsOverage    bool
	SessionExpiresAt string
	IDToken          debugToken
	Profiles         []debugProfile
}

// debugProfile is one dashboard profile's decision and token for the user.
type debugProfile struct {
	Name, Kind, Scope string
	Allowed           bool
	Decision          string
	Headers           []string // names only: values may hold the token
	Token             *debugToken
}

// debugToken is a token decoded for reading. Header and Payload are indented JSON; the raw
// token and its signature are never kept.
type debugToken struct {
	Header, Payload string
	Expires         string
	Note            string // why there is nothing to decode
}

// debug answers GET /oauth2/debug: for the signed-in user, the decoded header and claims of
// the id_token and of the token each dashboard profile would receive now, their expiry, and
// each profile's decision. Off (404) unless debug.enabled.
func (s *server) debug(c *gin.Context) {
	if !s.Config.Debug.Enabled {
		s.fail(c, errorf(http.StatusNotFound, "no such endpoint", nil))
		return
	}
	sess, err := s.Sessions.Load(c.Request.Context(), c.Request)
	if err != nil {
		if wantsHTML(c) {
			// A path: it passes the redirect policy whatever allowedRedirectDomains says.
			redirect(c, s.signInURL+"?rd="+url.QueryEscape(debugPath))
			c.Abort()
			return
		}
		c.Header("WWW-Authenticate", `Bearer realm="tokengate"`)
		s.fail(c, errorf(http.StatusUnauthorized, "not signed in", err))
		return
	}
	view := s.debugView(c, sess)
	var buf bytes.Buffer
	if err := debugPage.Execute(&buf, view); err != nil {
		s.fail(c, fmt.Errorf("render debug page: %w", err))
		return
	}
	setPageHeaders(c.Writer.Header())
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}

// debugView gathers the page: the same decisions and tokens /auth would produce now. A
// rotated refresh token is saved as /auth saves it, so looking never costs the session.
func (s *server) debugView(c *gin.Context, sess *session.Session) debugView {
	ctx := c.Request.Context()
	now := s.Now()
	user := userOf(sess)
	v := debugView{
		Now: now.UTC().Format(time.RFC3339), User: user.Login(), Subject: sess.Subject,
		TenantID: sess.TenantID, Groups: sess.Groups, GroupsOverage: sess.GroupsOverage,
		SessionExpiresAt: expiryText(sess.ExpiresAt, now),
	}
	// Each step goes on with the session as the previous one left it, so that a token
	// rotated by one is not written again by the next.
	v.IDToken, sess = s.debugTokenFor(c, sess, idp.IDTokenScope)
	for _, p := range s.Dashboards.Profiles() {
		dp := debugProfile{Name: p.Name, Kind: p.Token, Scope: p.Scope}
		for _, h := range p.Headers {
			dp.Headers = append(dp.Headers, h.Name)
		}
		decision, rotated, err := s.admission(ctx, p, sess, &user, p.Admit(&user))
		if err != nil {
			decision.Reason = "could not read the group memberships from Microsoft Graph: " + truncate(err.Error(), 300)
		}
		sess = s.saveRotated(c, sess, rotated, true) // a page: every Set-Cookie reaches the browser
		dp.Allowed, dp.Decision = decision.Allowed, decision.Reason
		if dp.Allowed && p.Token != dashboards.NoToken {
			var tok debugToken
			tok, sess = s.debugTokenFor(c, sess, tokenScope(p))
			dp.Token = &tok
		}
		v.Profiles = append(v.Profiles, dp)
	}
	return v
}

// debugTokenFor gets the token of scope as /auth would and decodes it. It saves a rotated
// refresh token as /auth does and returns the session that carries the newest one.
func (s *server) debugTokenFor(c *gin.Context, sess *session.Session, scope string) (debugToken, *session.Session) {
	res, err := s.Tokens.Get(c.Request.Context(), sess, scope)
	if err != nil {
		// idp errors carry the provider's error code and description, never a credential.
		return debugToken{Note: "no token: " + truncate(err.Error(), 300)}, sess
	}
	sess = s.saveRotated(c, sess, res.Token.RefreshToken, true)
	t := decodeForDebug(res.Token.AccessToken.Reveal())
	t.Expires = expiryText(res.Token.Expiry, s.Now())
	return t, sess
}

// decodeForDebug decodes a compact JWT's header and payload into indented JSON. The
// signature is dropped unread; anything that is not a JWT (an opaque token) is not shown.
func decodeForDebug(raw string) debugToken {
	if _, err := jwtpeek.Split(raw); err != nil {
		return debugToken{Note: "not a JWT (an opaque token); not shown"}
	}
	tok, err := jwtpeek.Decode(raw)
	if err != nil {
		return debugToken{Note: "not a decodable JWT; not shown"}
	}
	var header, payload bytes.Buffer
	if json.Indent(&header, tok.Header, "", "  ") != nil || json.Indent(&payload, tok.Payload, "", "  ") != nil {
		return debugToken{Note: "not a decodable JWT; not shown"}
	}
	return debugToken{Header: header.String(), Payload: payload.String()}
}

// expiryText is "2026-01-02T03:04:05Z (in 59m0s)" or "(expired 3m0s ago)".
func expiryText(t, now time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	d := t.Sub(now).Truncate(time.Second)
	if d < 0 {
		return fmt.Sprintf("%s (expired %s ago)", t.UTC().Format(time.RFC3339), -d)
	}
	return fmt.Sprintf("%s (in %s)", t.UTC().Format(time.RFC3339), d)
}

// debugPage escapes everything it prints (html/template): claims come from the provider and
// a user's display name is theirs to choose.
var debugPage = template.Must(template.New("debug").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="robots" content="noindex"><title>Sign-in debug · tokengate</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1f2328}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}h3{font-size:1rem}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:.75rem;overflow-x:auto}
.ok{color:#1a7f37}.no{color:#cf222e}.note{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem .75rem;border-radius:6px}
dt{font-weight:600}dd{margin:0 0 .5rem 0}</style>
</head><body><h1>Sign-in debug</h1>
<p>Decoded header and claims of your tokens as tokengate would send them now (the tokens themselves and
their signatures are never shown), and what each dashboard decides for you. Generated {{.Now}}.</p>
<h2>You</h2><dl>
<dt>User</dt><dd>{{.User}}</dd>
<dt>Object id (oid)</dt><dd>{{.Subject}}</dd>
<dt>Tenant</dt><dd>{{.TenantID}}</dd>
<dt>Groups</dt><dd>{{if .GroupsOverage}}more than 200: Entra sent the overage claim instead; {{end}}{{len .Groups}} known{{range .Groups}}<br><code>{{.}}</code>{{end}}</dd>
<dt>Session ends</dt><dd>{{.SessionExpiresAt}}</dd></dl>
<h2>id_token</h2>{{template "token" .IDToken}}
{{range .Profiles}}<h2>Dashboard {{.Name}}</h2><dl>
<dt>Decision</dt><dd>{{if .Allowed}}<span class="ok">allowed</span>{{else}}<span class="no">refused (403)</span>: {{.Decision}}{{end}}</dd>
<dt>Token</dt><dd>{{.Kind}}{{if .Scope}} for <code>{{.Scope}}</code>{{end}}</dd>
<dt>Headers sent</dt><dd>{{range $i, $h := .Headers}}{{if $i}}, {{end}}<code>{{$h}}</code>{{else}}none{{end}}</dd></dl>
{{with .Token}}{{template "token" .}}{{end}}{{end}}
</body></html>
{{define "token"}}{{if .Note}}<p class="note">{{.Note}}</p>{{else}}<p>Expires {{.Expires}}</p>
<h3>Header</h3><pre>{{.Header}}</pre><h3>Payload</h3><pre>{{.Payload}}</pre>{{end}}{{end}}
`))
