package handlers

import (
	"bytes"
	"html/template"
	"net/http"

	"github.com/gin-gonic/gin"
)

// pageData fills the small HTML pages tokengate shows a person. None of it ever holds a
// token, a code or a cookie: only a status, a short reason and the links to go on.
type pageData struct {
	Status int
	Title  string
	Reason string
	// Detail is what the identity provider said about the user's own failed sign-in,
	// already screened by idp.PublicDescription.
	Detail string
	Retry  string
}

// pageCSP allows the inline styles of our pages and nothing else: no script, frame, form
// target, base URL or remote load, and no page may frame ours (clickjacking).
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// setPageHeaders marks a response as one of tokengate's own pages, which are personal (never
// cached) and must not leak their URL (a callback's code and state) through a Referer.
func setPageHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY") // for browsers that predate frame-ancestors
	h.Set("Content-Security-Policy", pageCSP)
}

// redirect sends the browser to target with the headers of every page: gin writes a small
// HTML body with a 302, and it must not be framed, cached or leak its URL as a referrer.
func redirect(c *gin.Context, target string) {
	setPageHeaders(c.Writer.Header())
	c.Redirect(http.StatusFound, target)
}

// writePage renders one of our HTML pages with its security headers. A template error is a
// bug; it is rendered first so that a failure can still become a clean 500.
func writePage(c *gin.Context, status int, page *template.Template, data any) error {
	var buf bytes.Buffer
	if err := page.Execute(&buf, data); err != nil {
		return err
	}
	setPageHeaders(c.Writer.Header())
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
	return nil
}

// pageHead is shared by every page: charset, no indexing, and one small inline style.
const pageHead = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="robots" content="noindex"><title>{{.Title}} · tokengate</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2328}
h1{font-size:1.4rem}p.reason{background:#fff8c5;border:1px solid #d4a72c;padding:.75rem 1rem;border-radius:6px}
a.button{display:inline-block;background:#0969da;color:#fff;padding:.5rem 1rem;border-radius:6px;text-decoration:none}</style>
</head><body>`

var errorPage = template.Must(template.New("error").Funcs(template.FuncMap{"sentence": sentence}).Parse(pageHead +
	`<h1>{{.Status}} {{.Title}}</h1><p class="reason">{{sentence .Reason}}</p>
{{if .Detail}}<p>The identity provider said: <q>{{.Detail}}</q></p>{{end}}
{{if .Retry}}<p><a class="button" href="{{.Retry}}">Sign in again</a></p>{{end}}
<p><small>tokengate</small></p></body></html>
`))

// truncate bounds text that came from outside before it reaches a page or a log.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// sentence capitalises a reason for a page; reasons are lower case because they also end
// text answers and logs, like Go errors.
func sentence(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
