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

// resealRedirectsMax bounds the memory of recent redirects. A full memory drops what is
// older than resealRedirectEvery, or everything if nothing is: at worst one more redirect.
const resealRedirectsMax = 10000

// resealByRedirect answers 302 back to the requested page when the answer carries a
// re-sealed cookie that mode's proxy would drop, and reports whether it did. Only GET and
// HEAD page navigations are redirected: a redirected POST or XHR would lose its body or
// surprise the application. The target is the page the browser asked for, on a host a
// dashboard profile serves, and it passes the redirect policy like every other redirect.
func (s *server) resealByRedirect(c *gin.Context, fwd forward.Request, sess *session.Session) bool {
	if !forward.DropsAnswerHeaders(s.Config.ForwardAuth.Mode) || !fwd.Navigation ||
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
	if r.last == nil {
		r.last = map[string]time.Time{}
	}
	if len(r.last) >= resealRedirectsMax {
		for id, at := range r.last {
			if now.Sub(at) >= resealRedirectEvery {
				delete(r.last, id)
			}
		}
		if len(r.last) >= resealRedirectsMax {
			clear(r.last)
		}
	}
	r.last[id] = now
	return true
}
