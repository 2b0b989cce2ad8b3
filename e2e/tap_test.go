package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// hopByHop are the connection-level headers a proxy must not forward (RFC 9110 §7.6.1).
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade"}

// authCall is one /auth subrequest as tokengate received it, and its answer.
type authCall struct {
	Header http.Header
	Status int
	// SetsSession is true when the answer carried the session cookie (a rotated refresh
	// token), whether or not the proxy relays it to the browser.
	SetsSession bool
}

// tap sits between the proxy and tokengate and passes every request through unchanged,
// recording the /auth subrequests. It lets a test assert what the proxy really sent to
// /auth (which X-Original-URL, which X-Forwarded-Host) and what tokengate answered, which
// the browser alone cannot see.
type tap struct {
	target string
	client *http.Client
	srv    *httptest.Server

	mu    sync.Mutex
	calls []authCall
}

func newTap(t *testing.T, target string) *tap {
	tp := &tap{target: target, client: &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	tp.srv = httptest.NewServer(tp)
	t.Cleanup(tp.srv.Close)
	return tp
}

// Addr is the tap's host:port, where the proxies send tokengate's traffic.
func (tp *tap) Addr() string { return tp.srv.Listener.Addr().String() }

func (tp *tap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	out, err := http.NewRequestWithContext(r.Context(), r.Method, tp.target+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, "tap: "+err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	for _, h := range hopByHop {
		out.Header.Del(h)
	}
	out.Host = r.Host
	out.ContentLength = r.ContentLength
	resp, err := tp.client.Do(out)
	if err != nil {
		http.Error(w, "tap: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if r.URL.Path == "/auth" {
		tp.mu.Lock()
		tp.calls = append(tp.calls, authCall{Header: r.Header.Clone(), Status: resp.StatusCode, SetsSession: setsSession(resp.Header)})
		tp.mu.Unlock()
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	for _, h := range hopByHop {
		w.Header().Del(h)
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// Mark returns a position in the call log, for Since.
func (tp *tap) Mark() int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return len(tp.calls)
}

// Since returns the /auth calls recorded after mark.
func (tp *tap) Since(mark int) []authCall {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]authCall(nil), tp.calls[mark:]...)
}

// setsSession reports whether h sets the tokengate session cookie (or its first chunk).
func setsSession(h http.Header) bool {
	for _, c := range h.Values("Set-Cookie") {
		if strings.HasPrefix(c, "_tokengate=") || strings.HasPrefix(c, "_tokengate_0=") {
			return true
		}
	}
	return false
}
