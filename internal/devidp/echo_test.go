package devidp

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The echo knob must really echo: the whole request, secret included, in every field a
// client might log, and in an HTML page; and stop when switched off.
func TestEcho(t *testing.T) {
	e := newEnv(t, nil)
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"rt-echo-value-1"}}

	secretInForm := url.QueryEscape(testSecret) // the echo quotes the form as sent
	e.p.SetEcho(EchoJSON)
	status, body := e.tokenCall(t, form)
	if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("echo json = %d %v; want 400 invalid_grant", status, body)
	}
	for _, field := range []string{"error_description", "error_uri", "trace_id", "correlation_id"} {
		text, _ := url.QueryUnescape(body[field].(string)) // error_uri is escaped once more
		if !strings.Contains(body[field].(string)+text, secretInForm) || !strings.Contains(text, "rt-echo-value-1") {
			t.Errorf("%s = %q; want the client secret and refresh token echoed", field, text)
		}
	}

	e.p.SetEcho(EchoHTML)
	form.Set("client_id", testClientID)
	form.Set("client_secret", testSecret)
	resp, err := http.PostForm(e.p.tokenEndpoint(), form)
	if err != nil {
		t.Fatal(err)
	}
	page := readBody(t, resp)
	if resp.StatusCode != http.StatusBadGateway || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(page, secretInForm) {
		t.Errorf("echo html = %d %s %q; want a 502 HTML page quoting the secret", resp.StatusCode, resp.Header.Get("Content-Type"), page)
	}

	e.p.SetEcho(EchoOff)
	status, body = e.tokenCall(t, form)
	if status != http.StatusBadRequest || strings.Contains(body["error_description"].(string), testSecret) {
		t.Errorf("echo off = %d %v; want an ordinary refusal of the unknown refresh token", status, body)
	}
}
