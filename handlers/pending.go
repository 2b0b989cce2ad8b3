package handlers

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// Every /oauth2/start leaves one sealed cookie until its callback or its timeout. Without a
// bound, a page that starts sign-ins in a loop (or a user with many tabs) grows the Cookie
// header past the ingress's header buffers (ingress-nginx: 4 × 8 KB), and every request of
// that browser to the auth host then fails until the cookies expire. So a browser has at
// most maxPendingSignIns sign-ins in flight, and their cookies take at most
// maxPendingCookieBytes of its Cookie header; a new start evicts the oldest.
const (
	maxPendingSignIns = 5
	// maxPendingCookieBytes leaves room for the session cookie within one 8 KB header line.
	// A single sign-in whose rd is near the 2 KB limit is kept even if alone it is larger
	// (about 3.1 KB): a sign-in must always be possible.
	maxPendingCookieBytes = 3 << 10
)

// pendingCookie is one sign-in in flight, as the browser sent its cookie.
type pendingCookie struct {
	name    string
	size    int   // of "name=value" in the Cookie header, with the "; " separator
	started int64 // unix nanoseconds; 0 when the cookie does not open
}

// evictPending clears the cookies of the sign-ins in flight that must make room for a new
// one of newSize bytes: those that no longer open, then the oldest, until at most
// maxPendingSignIns-1 remain and all of them with the new one fit maxPendingCookieBytes.
func (s *server) evictPending(w http.ResponseWriter, r *http.Request, newSize int) {
	prefix := s.Config.Cookie.Name + "_csrf_"
	var pending []pendingCookie
	for _, c := range r.Cookies() {
		if !strings.HasPrefix(c.Name, prefix) {
			continue
		}
		p := pendingCookie{name: c.Name, size: len(c.Name) + 1 + len(c.Value) + 2}
		if plain, err := s.Codec.Open(c.Name, c.Value); err == nil {
			var ps pendingSignIn
			if json.Unmarshal(plain, &ps) == nil {
				p.started = ps.Started
			}
		}
		pending = append(pending, p)
	}
	// Newest first; those that do not open (started 0) come last and go first.
	slices.SortFunc(pending, func(a, b pendingCookie) int {
		switch {
		case a.started > b.started:
			return -1
		case a.started < b.started:
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	kept, total := 0, newSize
	for _, p := range pending {
		if p.started != 0 && kept < maxPendingSignIns-1 && total+p.size <= maxPendingCookieBytes {
			kept++
			total += p.size
			continue
		}
		http.SetCookie(w, s.csrfCookie(p.name, "", -1))
	}
}
