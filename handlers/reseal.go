package handlers

import (
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/internal/forward"
	"github.com/tokengate/tokengate/session"
)

// Caddy's forward_auth and Envoy's ext_authz hand the browser none of a 2xx /auth answer's
// headers, so a session cookie sealed again with the primary key (key rotation) would never
// reach it there, and removing the old key would sign those users out. Both hand a non-2xx
// answer to the browser whole, so on a page navigation tokengate answers 302 back to the
// same URL with the new cookie instead: one extra round trip per user per key rotation.

// resealRedirectEvery bounds the redirects per session and replica: a browser that does not
// keep the cookie gets its page after one redirect instead of a loop.
const resealRedirectEvery = time.Minute

// resealRedirectsMax bounds the memory of recent redirects; past it the oldest half of a
// rotation's burst is forgotten, which at worst costs one more redirect for those users.
const resealRedirectsMax = 10000

// dropsAuthCookies reports whether mode's proxy discards the headers of a 2xx /auth answer.
// In auto mode tokengate cannot tell Caddy from Traefik, which relays the cookie.
func dropsAuthCookies(mode string) bool {
	return mode == forward.ModeCaddy || mode == forward.ModeEnvoy
}

// resealByRedirect answers 302 back to the requested page when the answer carries a
// re-sealed cookie that mode's proxy would drop, and reports whether it did. Only GET and
// HEAD page navigations are redirected: a redirected POST or XHR would lose its body or
// surprise the application. The target is the page the browser asked for, on a host a
// dashboard profile serves, and it passes the redirect policy like every other redirect.
func (s *server) resealByRedirect(c *gin.Context, fwd forward.Request, sess *session.Session) bool {
	if !dropsAuthCookies(s.Config.ForwardAuth.Mode) || !fwd.Navigation ||
		(fwd.Method != http.MethodGet && fwd.Method != http.MethodHead) {
		return false
	}
	target := fwd.URL()
	if s.redirects.Safe(target) != target || !s.resealRedirects.first(sess.ID, s.Now()) {
		return false
	}
	c.Header("Cache-Control", "no-store")
	redirect(c, target)
	return true
}

// recentRedirects remembers which sessions were redirected to pick up a re-sealed cookie.
type recentRedirects struct {
	mu   sync.Mutex
	last map[string]time.Time // by session id
}

// first reports whether id was not redirected within resealRedirectEvery before now, and
// records now for it.
func (r *recentRedirects) first(id string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if at, ok := r.last[id]; ok && now.Sub(at) < resealRedirectEvery {
		return false
	}
	if r.last == nil || len(r.last) >= resealRedirectsMax {
		r.forgetBefore(now.Add(-resealRedirectEvery))
	}
	r.last[id] = now
	return true
}

// forgetBefore drops the redirects older than cutoff, and everything if that frees nothing.
func (r *recentRedirects) forgetBefore(cutoff time.Time) {
	if r.last == nil {
		r.last = map[string]time.Time{}
		return
	}
	for id, at := range r.last {
		if at.Before(cutoff) {
			delete(r.last, id)
		}
	}
	if len(r.last) >= resealRedirectsMax {
		clear(r.last)
	}
}
