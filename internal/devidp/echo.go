package devidp

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// EchoMode makes the token endpoint and the Graph stand-in fail while echoing the whole
// request — form body and headers, credentials included — back in their answer, as a careless
// provider, a proxy's error page or an attacker-controlled issuer may. It exists for tests
// proving that nothing a provider says reaches a log, a span or a page unfiltered; a real
// provider never does this on purpose.
type EchoMode int

const (
	// EchoOff answers normally.
	EchoOff EchoMode = iota
	// EchoJSON answers 400 invalid_grant in Entra's JSON shape with the request in
	// error_description, error_uri, trace_id and correlation_id (Graph: 401 with it in the
	// error's code and message).
	EchoJSON
	// EchoHTML answers 502 with an HTML page quoting the request, as a proxy in front of
	// the provider might.
	EchoHTML
)

// SetEcho switches the echoing failure of the token endpoint and Graph on or off. Discovery,
// keys and the login pages keep working.
func (p *Provider) SetEcho(mode EchoMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.echo = mode
}

func (p *Provider) echoMode() EchoMode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.echo
}

// echoRequest is the request on one line, as the first line of a description would quote
// it: the body (already read into form for the token endpoint; read here otherwise), then
// the method, path and every header.
func echoRequest(r *http.Request, form url.Values) string {
	var b strings.Builder
	if form != nil {
		b.WriteString(form.Encode())
	} else if r.Body != nil {
		body, _ := io.ReadAll(io.LimitReader(r.Body, maxFormBytes))
		b.Write(body)
	}
	fmt.Fprintf(&b, " | %s %s", r.Method, r.URL.RequestURI())
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&b, " | %s: %s", k, strings.Join(r.Header[k], ", "))
	}
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(b.String())
}

// writeEcho answers with the echoing failure of mode; Graph answers in Graph's error shape.
func writeEcho(w http.ResponseWriter, mode EchoMode, graph bool, echoed string) {
	if mode == EchoHTML {
		var page bytes.Buffer
		fmt.Fprintf(&page, "<html><body><h1>502 Bad Gateway</h1><pre>%s</pre></body></html>\n", html.EscapeString(echoed))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write(page.Bytes())
		return
	}
	if graph {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{
			"code": echoed, "message": "Access token validation failure: " + echoed,
			"innerError": map[string]string{"request-id": echoed},
		}})
		return
	}
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"error":             "invalid_grant",
		"error_description": "AADSTS50000: There was an error issuing a token. Request: " + echoed,
		"error_uri":         "https://login.example/error?request=" + url.QueryEscape(echoed),
		"error_codes":       []int{50000},
		"trace_id":          echoed,
		"correlation_id":    echoed,
	})
}
