package handlers

import (
	"html/template"
	"strings"
)

// pageData fills the small HTML pages tokengate shows a person. None of it ever holds a
// token, a code or a cookie: only a status, a short reason and a retry link.
type pageData struct {
	Status int
	Title  string
	Reason string
	Retry  string
}

var errorPage = template.Must(template.New("error").Funcs(template.FuncMap{"sentence": sentence}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="robots" content="noindex"><title>{{.Title}} · tokengate</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2328}
h1{font-size:1.4rem}p.reason{background:#fff8c5;border:1px solid #d4a72c;padding:.75rem 1rem;border-radius:6px}
a.button{display:inline-block;background:#0969da;color:#fff;padding:.5rem 1rem;border-radius:6px;text-decoration:none}</style>
</head><body><h1>{{.Status}} {{.Title}}</h1><p class="reason">{{sentence .Reason}}</p>
{{if .Retry}}<p><a class="button" href="{{.Retry}}">Sign in again</a></p>{{end}}
<p><small>tokengate</small></p></body></html>
`))

// firstLineOf keeps the first line of a provider's error description ("AADSTS65004: User
// declined to consent …") and drops the trace ids and timestamps that follow.
func firstLineOf(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(strings.TrimSuffix(s, "\r"))
}

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
