package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tokengate/tokengate/internal/browser"
)

// sessionCookieName is tokengate's default cookie name, which the generated config keeps.
const sessionCookieName = "_tokengate"

// signIn signs user in through tokengate's real flow (/oauth2/start, the provider's login
// form, /oauth2/callback) with a fresh cookie jar, and returns the Cookie header that carries
// the session: the single cookie or all its chunks.
func signIn(authURL, user string) (string, error) {
	b := browser.New(&http.Transport{MaxIdleConnsPerHost: 4})
	defer b.Client.CloseIdleConnections()
	start := authURL + "/oauth2/start?rd=" + url.QueryEscape(authURL+"/healthz")
	page, err := b.Navigate(start)
	if err != nil {
		return "", fmt.Errorf("sign in %s: open %s: %w", user, start, err)
	}
	if !strings.Contains(string(page.Body), `name="password"`) {
		return "", fmt.Errorf("sign in %s: expected the login form, got %d at %s", user, page.Status, page.URL.Redacted())
	}
	page, err = b.SignIn(page, user, "password")
	if err != nil {
		return "", fmt.Errorf("sign in %s: submit the login form: %w", user, err)
	}
	if page.Status != http.StatusOK || page.URL.Path != "/healthz" {
		return "", fmt.Errorf("sign in %s: ended with %d at %s, not back at /healthz", user, page.Status, page.URL.Path)
	}
	u, err := url.Parse(authURL)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, c := range b.Client.Jar.Cookies(u) {
		if c.Name == sessionCookieName || (strings.HasPrefix(c.Name, sessionCookieName+"_") && !strings.Contains(c.Name, "_csrf_")) {
			parts = append(parts, c.Name+"="+c.Value)
		}
	}
	if len(parts) == 0 {
		return "", fmt.Errorf("sign in %s: no session cookie in the jar", user)
	}
	return strings.Join(parts, "; "), nil
}

// signInMany performs n real sign-ins, at most parallel at a time, and reports how long they
// took. Every session is distinct: its own sign-in, session id, refresh token and cache entry.
func signInMany(ctx context.Context, authURL, user string, n, parallel int) ([]string, time.Duration, error) {
	started := time.Now()
	cookies := make([]string, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	var mu sync.Mutex
	seen := make(map[string]bool, n)
	for i := range n {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			c, err := signIn(authURL, user)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[c] {
				return fmt.Errorf("sign-in %d returned a session cookie seen before", i)
			}
			seen[c] = true
			cookies[i] = c
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	return cookies, time.Since(started), nil
}

// profiledSignIns is signInMany that also says where the time went: the CPU tokengate and
// this process (the identity provider plus the clients) spent, and with --signin-profile a
// CPU profile of this process.
func profiledSignIns(ctx context.Context, o options, st *stack, user string, stdout io.Writer) ([]string, time.Duration, error) {
	if o.signinProfile != "" {
		f, err := os.Create(o.signinProfile)
		if err != nil {
			return nil, 0, fmt.Errorf("--signin-profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, 0, fmt.Errorf("--signin-profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	tgBefore, _ := cpuTime(st.tokengate.pid())
	selfBefore, _ := cpuTime(os.Getpid())
	cookies, took, err := signInMany(ctx, st.authURL, user, o.sessions, o.parallel)
	if err != nil {
		return nil, 0, err
	}
	tgAfter, _ := cpuTime(st.tokengate.pid())
	selfAfter, _ := cpuTime(os.Getpid())
	fmt.Fprintf(stdout, "sign-in CPU: tokengate %s (%.0f µs each), identity provider and clients %s (%.0f µs each)\n",
		(tgAfter - tgBefore).Round(time.Millisecond), micros(tgAfter-tgBefore)/float64(len(cookies)),
		(selfAfter - selfBefore).Round(time.Millisecond), micros(selfAfter-selfBefore)/float64(len(cookies)))
	return cookies, took, nil
}
