package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// hit is one request a dashboard received through the proxy.
type hit struct {
	URI    string // path and query as received
	Header http.Header
	At     time.Time // when it arrived, to check the token's exp against real time
}

// dashboard is a stand-in for Headlamp or Grafana: a plain upstream that records what the
// proxy sent and answers 200. Its body names it, so a test knows where the browser ended.
type dashboard struct {
	name string
	srv  *httptest.Server

	mu   sync.Mutex
	hits []hit
}

func newDashboard(t *testing.T, name string) *dashboard {
	d := &dashboard{name: name}
	d.srv = httptest.NewServer(d)
	t.Cleanup(d.srv.Close)
	return d
}

func (d *dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	d.hits = append(d.hits, hit{URI: r.URL.RequestURI(), Header: r.Header.Clone(), At: time.Now()})
	d.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "dashboard %s ok", d.name)
}

// Addr is the dashboard's host:port, where the proxy sends it traffic.
func (d *dashboard) Addr() string { return d.srv.Listener.Addr().String() }

// Body is what the dashboard answers, to recognise its page.
func (d *dashboard) Body() string { return "dashboard " + d.name + " ok" }

// Hits returns the requests received so far.
func (d *dashboard) Hits() []hit {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]hit(nil), d.hits...)
}

// Last returns the latest request, failing the test when there was none.
func (d *dashboard) Last(t *testing.T) hit {
	t.Helper()
	hits := d.Hits()
	if len(hits) == 0 {
		t.Fatalf("dashboard %s received no request", d.name)
	}
	return hits[len(hits)-1]
}
