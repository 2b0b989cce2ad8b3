package devidp

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// ssoCookie is the provider's browser session cookie. Its path is limited to the tenant's
// URLs so that it is never sent to a client running on the same host (cookies ignore ports).
const ssoCookie = "devidp_sso"

func (p *Provider) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: ssoCookie, Value: value, Path: "/" + p.cfg.TenantID + "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: strings.HasPrefix(p.cfg.BaseURL, "https://"),
	}
}

// startSession records a successful sign-in and sets the cookie that lets the next
// authorization request sign in without the form (single sign-on).
func (p *Provider) startSession(w http.ResponseWriter, u *User) *ssoSession {
	id := randomToken()
	s := &ssoSession{username: u.Username, sid: newGUID()}
	p.mu.Lock()
	p.sessions[id] = s
	p.mu.Unlock()
	http.SetCookie(w, p.cookie(id, 0))
	return s
}

// sessionFor returns the browser's live session, or nil.
func (p *Provider) sessionFor(r *http.Request) *ssoSession {
	c, err := r.Cookie(ssoCookie)
	if err != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.sessions[c.Value]
	if s == nil || p.lookupUser(s.username) == nil {
		return nil
	}
	return s
}

// logout ends the browser's session and sends it back to post_logout_redirect_uri (with
// state) when some client registered that URI; otherwise it shows a signed-out page, so an
// unregistered URI is never followed.
func (p *Provider) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(ssoCookie); err == nil {
		p.mu.Lock()
		delete(p.sessions, c.Value)
		p.mu.Unlock()
	}
	http.SetCookie(w, p.cookie("", -1))
	target := r.URL.Query().Get("post_logout_redirect_uri")
	if target != "" && p.postLogoutAllowed(target) {
		q := url.Values{}
		if st := r.URL.Query().Get("state"); st != "" {
			q.Set("state", st)
		}
		redirectTo(w, target, q)
		return
	}
	p.renderPage(w, http.StatusOK, "You signed out of your account", "It's a good idea to close all browser windows.")
}

func (p *Provider) postLogoutAllowed(target string) bool {
	for _, c := range p.clients {
		if slices.Contains(c.PostLogoutRedirectURIs, target) {
			return true
		}
	}
	return false
}
