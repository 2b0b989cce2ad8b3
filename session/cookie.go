package session

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// DefaultCookieName is the session cookie's name when CookieOptions.Name is empty.
const DefaultCookieName = "_tokengate"

const (
	// maxCookieLen bounds one Set-Cookie value (name, value and attributes). Browsers keep
	// at least 4096 bytes per cookie (RFC 6265 §6.1); the rest is headroom.
	maxCookieLen = 4000
	// maxChunks bounds how many cookies one session may take, and so how much a request's
	// cookies can make Load assemble and decrypt.
	maxChunks = 16
)

// CookieOptions name the session cookie. Cookies are always Secure, HttpOnly and
// SameSite=Lax: the session must reach the cookie domain's dashboards on top-level
// navigation, and never scripts or plain HTTP.
type CookieOptions struct {
	// Name of the cookie, default DefaultCookieName; chunks are Name_0, Name_1, …
	Name string
	// Domain shared by the dashboards, e.g. ".example.com"; empty means host-only.
	Domain string
	// Path of the cookie, default "/".
	Path string
	// OpenedCacheBytes bounds the memory of sessions kept opened between requests, default
	// DefaultOpenedCacheBytes; negative turns the cache off.
	OpenedCacheBytes int64
}

// DefaultOpenedCacheBytes keeps about 20 000 opened sessions of a few groups (a session with
// its sealed value costs 2–8 KB), like the token cache's default bound: memory is used only
// by sessions that are really in use.
const DefaultOpenedCacheBytes = 64 << 20

// CookieStore keeps the whole session, sealed, in the browser: no server state, so any
// replica can answer. A session too large for one cookie is split over several.
type CookieStore struct {
	codec  *Codec
	opts   CookieOptions
	prefix string          // opts.Name + "_", the start of every chunk name
	opened *openedSessions // nil when OpenedCacheBytes < 0
}

// NewCookieStore returns a store that seals sessions with codec, using the cookie name as
// the seal's purpose. Expiry is checked with the codec's clock.
func NewCookieStore(codec *Codec, opts CookieOptions) *CookieStore {
	if opts.Name == "" {
		opts.Name = DefaultCookieName
	}
	if opts.Path == "" {
		opts.Path = "/"
	}
	s := &CookieStore{codec: codec, opts: opts, prefix: opts.Name + "_"}
	switch {
	case opts.OpenedCacheBytes == 0:
		s.opened = newOpenedSessions(DefaultOpenedCacheBytes)
	case opts.OpenedCacheBytes > 0:
		s.opened = newOpenedSessions(opts.OpenedCacheBytes)
	}
	return s
}

// Load returns the session r carries. Any failure (no cookie, tampered, expired, foreign,
// incomplete chunks) is an error wrapping ErrNoSession and the cause. The session returned
// may be shared with other requests carrying the same cookie: treat it as read-only.
//
// ctx is not used: a cookie needs no I/O to open.
func (s *CookieStore) Load(_ context.Context, r *http.Request) (*Session, error) {
	found := s.scan(r)
	var cause error = http.ErrNoCookie
	for _, v := range found.singles[:found.nSingles] {
		sess, err := s.open(v)
		if err == nil {
			return sess, nil
		}
		cause = err
	}
	if found.anyChunk {
		sess, err := s.openChunks(found.chunks[:], found.have[:])
		if err == nil {
			return sess, nil
		}
		cause = err
	}
	return nil, fmt.Errorf("load session cookie: %w: %w", ErrNoSession, cause)
}

func (s *CookieStore) open(value string) (*Session, error) {
	if s.opened != nil {
		if sess := s.opened.get(value); sess != nil && !sess.Expired(s.codec.now()) {
			return sess, nil
		}
	}
	plain, err := s.codec.Open(s.opts.Name, value)
	if err != nil {
		return nil, err
	}
	sess, err := decodeSession(plain)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	// The seal already expires with the session; this also covers a session whose
	// ExpiresAt was set earlier than the seal's expiry.
	if sess.Expired(s.codec.now()) {
		return nil, fmt.Errorf("session ended at %s: %w", sess.ExpiresAt.Format(time.RFC3339), ErrExpired)
	}
	if s.opened != nil {
		s.opened.put(value, sess)
	}
	return sess, nil
}

// Save seals sess into cookies that live until sess.ExpiresAt: one cookie when it fits,
// else chunks. The first Set-Cookie written is the session (or its first chunk), because
// ingress-nginx relays only the first Set-Cookie of an auth response. Cookies of the other
// shape that r still carries are deleted.
func (s *CookieStore) Save(w http.ResponseWriter, r *http.Request, sess *Session) error {
	_, err := s.write(w, r, sess, false)
	return err
}

// SaveRotated saves a session whose refresh token rotated during an /auth answer, but only
// when it fits in one cookie, and reports whether it did. ingress-nginx relays only the first
// Set-Cookie of an auth answer: a chunked session would reach the browser half new, half old,
// and no longer open. Declining is safe with Entra, which does not revoke the old refresh
// token; the token cache keeps using the newest one.
func (s *CookieStore) SaveRotated(w http.ResponseWriter, r *http.Request, sess *Session) (bool, error) {
	return s.write(w, r, sess, true)
}

// ResealCookie never writes: it reports false. The cookie store's cookie is the session
// itself, sealed again with the primary key whenever it is saved, at sign-in and at each
// rotation of the refresh token (Entra rotates it at every refresh, about hourly). Sealing it
// again on /auth would also be limited to sessions that fit in one cookie, as SaveRotated is.
func (s *CookieStore) ResealCookie(http.ResponseWriter, *http.Request, *Session) bool {
	return false
}

func (s *CookieStore) write(w http.ResponseWriter, r *http.Request, sess *Session, onlySingle bool) (bool, error) {
	maxAge := int(sess.ExpiresAt.Sub(s.codec.now()) / time.Second)
	if maxAge < 1 {
		return false, fmt.Errorf("save session: it ends at %s: %w", sess.ExpiresAt.Format(time.RFC3339), ErrExpired)
	}
	value, err := s.codec.Seal(s.opts.Name, encodeSession(nil, sess), sess.ExpiresAt)
	if err != nil {
		return false, fmt.Errorf("save session: %w", err)
	}
	cookies, err := s.split(value, maxAge)
	if err != nil {
		return false, fmt.Errorf("save session: %w", err)
	}
	if onlySingle && len(cookies) > 1 {
		return false, nil
	}
	keep := make(map[string]bool, len(cookies))
	for _, c := range cookies {
		keep[c.Name] = true
		w.Header().Add("Set-Cookie", c.String())
	}
	for _, name := range s.carried(r) {
		if !keep[name] {
			w.Header().Add("Set-Cookie", s.cookie(name, "", -1).String())
		}
	}
	return true, nil
}

// split returns the cookies that carry value: Name alone when it fits, else Name_0…Name_n-1.
func (s *CookieStore) split(value string, maxAge int) ([]*http.Cookie, error) {
	single := s.cookie(s.opts.Name, value, maxAge)
	// Valid also rejects a bad name or domain, which http.Cookie.String would silently drop.
	if err := single.Valid(); err != nil {
		return nil, fmt.Errorf("cookie options: %w", err)
	}
	if len(single.String()) <= maxCookieLen {
		return []*http.Cookie{single}, nil
	}
	longest := s.cookie(s.chunkName(maxChunks-1), "", maxAge)
	room := maxCookieLen - len(longest.String())
	n := (len(value) + room - 1) / room
	if room <= 0 || n > maxChunks {
		return nil, fmt.Errorf("sealed session of %d bytes needs more than %d cookies: %w", len(value), maxChunks, ErrTooLarge)
	}
	cookies := make([]*http.Cookie, 0, n)
	for i := range n {
		part := value[i*room : min((i+1)*room, len(value))]
		cookies = append(cookies, s.cookie(s.chunkName(i), part, maxAge))
	}
	return cookies, nil
}

// Clear deletes the session cookie and every chunk r carries, plus the chunks below the
// highest one carried, which a browser may hold even if this request lost them.
func (s *CookieStore) Clear(w http.ResponseWriter, r *http.Request) {
	highest := -1
	for _, c := range r.Cookies() {
		if i, ok := s.chunkIndex(c.Name); ok {
			highest = max(highest, i)
		}
	}
	w.Header().Add("Set-Cookie", s.cookie(s.opts.Name, "", -1).String())
	for i := 0; i <= highest; i++ {
		w.Header().Add("Set-Cookie", s.cookie(s.chunkName(i), "", -1).String())
	}
}

// carried lists, once each, the names of this store's cookies (single or chunk) in r.
func (s *CookieStore) carried(r *http.Request) []string {
	var names []string
	seen := make(map[string]bool)
	for _, c := range r.Cookies() {
		if seen[c.Name] {
			continue
		}
		if _, ok := s.chunkIndex(c.Name); ok || c.Name == s.opts.Name {
			names = append(names, c.Name)
			seen[c.Name] = true
		}
	}
	return names
}

// cookie builds one of our cookies; maxAge < 0 deletes it.
func (s *CookieStore) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Domain:   s.opts.Domain,
		Path:     s.opts.Path,
		MaxAge:   maxAge,
		Secure:   true,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}

func (s *CookieStore) chunkName(i int) string { return s.prefix + strconv.Itoa(i) }
