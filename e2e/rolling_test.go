package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/redistest"
)

// rollingReplicas is how many tokengate replicas sit behind NGINX.
const rollingReplicas = 3

// rollingTally counts the answers seen through NGINX during a rollout: statuses and
// transport (socket) errors by message.
type rollingTally struct {
	mu       sync.Mutex
	statuses map[int]int
	errors   map[string]int
}

func (r *rollingTally) add(status int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errors[err.Error()]++
		return
	}
	r.statuses[status]++
}

// Restart three tokengate replicas behind NGINX one by one with SIGTERM while a steady
// stream of signed-in requests goes through NGINX to a dashboard: every request gets 200,
// none a socket error, with the cookie store and with the Redis store. Each restarted
// replica takes traffic again only once it reports ready (discovery done, store answering).
func TestRollingRestartBehindNginx(t *testing.T) {
	for _, store := range []string{"cookie", "redis"} {
		t.Run(store, func(t *testing.T) { rollingRestart(t, store) })
	}
}

func rollingRestart(t *testing.T, store string) {
	s := &stack{t: t, opts: stackOptions{Proxy: "nginx", Mode: "ingress-nginx"}, dir: t.TempDir(), dashboards: map[string]*dashboard{}}
	s.startProvider()
	opts := tokengateOptions{
		IssuerURL: s.idp.Issuer(), ClientID: e2eClientID, Mode: "ingress-nginx",
		SafetyMargin: time.Minute, RefreshAhead: 5 * time.Minute, ShutdownDelay: 500 * time.Millisecond,
	}
	if store == "redis" {
		opts.RedisURL = redistest.Start(t).URL()
	}
	procs := make([]*process, rollingReplicas)
	addrs := make([]string, rollingReplicas)
	dirs := make([]string, rollingReplicas)
	for i := range procs {
		dirs[i] = filepath.Join(s.dir, fmt.Sprintf("replica-%d", i))
		for _, d := range []string{dirs[i], dirs[i] + "-next"} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				t.Fatal(err)
			}
		}
		var base string
		procs[i], base, opts.CookieKey = runTokengate(t, dirs[i], e2eClientSecret, opts)
		addrs[i] = strings.TrimPrefix(base, "http://")
	}
	s.dashboards[headlamp] = newDashboard(t, "headlamp")
	nginx := startNginxPool(t, s.dir, addrs, []nginxSite{{Host: headlamp, Upstream: s.dashboards[headlamp].Addr(), BufferSize: "16k"}}, s.ready)
	s.port = nginx.port
	b := s.newBrowser()
	s.signIn(b, https(headlamp, "/"), "alice")
	cookies := b.Client.Jar.Cookies(&url.URL{Scheme: "https", Host: headlamp, Path: "/"})

	tally := &rollingTally{statuses: map[int]int{}, errors: map[string]int{}}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { steadyRequests(s.port, cookies, &stop, tally) })
	}
	// As a Deployment's rolling update with a Service: the new pod joins the endpoints once
	// ready (runTokengate returns then); the old one leaves them as it gets SIGTERM, and
	// keeps serving for shutdownDelay, so requests NGINX already sent it still finish.
	for i := range procs {
		next, base, _ := runTokengate(t, dirs[i]+"-next", e2eClientSecret, opts)
		old := procs[i]
		procs[i], addrs[i] = next, strings.TrimPrefix(base, "http://")
		terminated := make(chan struct{})
		go func() {
			defer close(terminated)
			_ = syscall.Kill(old.cmd.Process.Pid, syscall.SIGTERM)
			<-old.exited
		}()
		nginx.setPool(addrs)
		<-terminated
		if old.err != nil {
			t.Errorf("replica %d exited with %v after SIGTERM; want a clean exit", i, old.err)
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%s store, rolling restart of %d replicas: statuses %v, socket errors %v", store, rollingReplicas, tally.statuses, tally.errors)
	if tally.statuses[http.StatusOK] < 100 {
		t.Errorf("only %d requests succeeded during the rollout; the load did not run", tally.statuses[http.StatusOK])
	}
	for status, n := range tally.statuses {
		if status != http.StatusOK {
			t.Errorf("%d answers with status %d during the rollout; want only 200", n, status)
		}
	}
	errs := make([]string, 0, len(tally.errors))
	for e, n := range tally.errors {
		errs = append(errs, fmt.Sprintf("%d× %s", n, e))
	}
	sort.Strings(errs)
	if len(errs) > 0 {
		t.Errorf("socket errors during the rollout: %v; want none", errs)
	}
}

// steadyRequests sends the signed-in browser's request for the dashboard through NGINX in
// a loop until stop, on its own keep-alive connections, as a user's browser would.
func steadyRequests(port int, cookies []*http.Cookie, stop *atomic.Bool, tally *rollingTally) {
	tr := transportFor(port)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for !stop.Load() {
		req, err := http.NewRequest(http.MethodGet, https(headlamp, "/api/v1/namespaces"), nil)
		if err != nil {
			tally.add(0, err)
			return
		}
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := client.Do(req)
		if err != nil {
			tally.add(0, err)
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		tally.add(resp.StatusCode, nil)
	}
}
