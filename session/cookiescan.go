package session

import (
	"fmt"
	"net/http"
	"strings"
)

// Reading the session cookies of a request: the scan every /auth makes, and Peek, the answer
// from the opened sessions alone.

// Peek returns the session r carries when Load would answer it from the sessions opened
// before, without decrypting anything, and reports whether it can. Load tries whole cookies
// first, in order, so only the first one can be answered here; then the joined chunks.
func (s *CookieStore) Peek(r *http.Request) (*Session, bool) {
	if s.opened == nil {
		return nil, false
	}
	found := s.scan(r)
	var value string
	switch {
	case found.nSingles > 0:
		value = found.singles[0]
	case found.anyChunk:
		joined, err := joinChunks(found.chunks[:], found.have[:])
		if err != nil {
			return nil, false
		}
		value = joined
	default:
		return nil, false
	}
	sess := s.opened.get(value)
	if sess == nil || sess.Expired(s.codec.now()) {
		return nil, false
	}
	return sess, true
}

// sessionCookies are the values of a request's session cookies: whole ones, and chunks.
// Fixed arrays keep the scan of every /auth off the heap.
type sessionCookies struct {
	singles  [maxSingles]string
	nSingles int
	chunks   [maxChunks]string
	have     [maxChunks]bool
	anyChunk bool
}

// maxSingles bounds the whole session cookies of one request that Load tries, in order: the
// same name on a few paths or domains is normal, dozens are not worth decrypting. A session
// in a fifth or later cookie of the name is not seen: the request is not signed in.
const maxSingles = 4

// scan finds the session cookies of r. The Cookie header is scanned in place:
// http.Request.Cookies builds a value per cookie of the dashboard's domain on every /auth,
// ours or not.
func (s *CookieStore) scan(r *http.Request) sessionCookies {
	var found sessionCookies
	for _, line := range r.Header["Cookie"] {
		for len(line) > 0 {
			var pair string
			pair, line, _ = strings.Cut(line, ";")
			name, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if !ok || !strings.HasPrefix(name, s.opts.Name) {
				continue
			}
			value = trimQuotes(value)
			if name == s.opts.Name {
				if found.nSingles < maxSingles {
					found.singles[found.nSingles] = value
					found.nSingles++
				}
			} else if i, ok := s.chunkIndex(name); ok && !found.have[i] {
				// A duplicate name (another path or domain) comes later: browsers send the
				// most specific cookie first (RFC 6265 §5.4).
				found.chunks[i], found.have[i], found.anyChunk = value, true, true
			}
		}
	}
	return found
}

// openChunks opens the session split over chunks 0..n-1.
func (s *CookieStore) openChunks(chunks []string, have []bool) (*Session, error) {
	joined, err := joinChunks(chunks, have)
	if err != nil {
		return nil, err
	}
	return s.open(joined)
}

// joinChunks joins chunks 0..n-1, where n-1 is the highest index present. A gap means a
// chunk was lost; a missing tail shows up as a failed authentication of the joined value.
func joinChunks(chunks []string, have []bool) (string, error) {
	n := 0
	for i, ok := range have {
		if ok {
			n = i + 1
		}
	}
	var b strings.Builder
	for i := range n {
		if !have[i] {
			return "", fmt.Errorf("chunk %d of %d missing: %w", i, n, ErrInvalid)
		}
		b.WriteString(chunks[i])
	}
	return b.String(), nil
}

// trimQuotes drops the double quotes RFC 6265 allows around a cookie value.
func trimQuotes(v string) string {
	if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// chunkIndex parses a chunk cookie name: Name_ and a decimal index below maxChunks,
// spelled as chunkName spells it (no sign, no leading zero).
func (s *CookieStore) chunkIndex(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, s.prefix)
	if !ok || digits == "" || len(digits) > 2 || (len(digits) > 1 && digits[0] == '0') {
		return 0, false
	}
	i := 0
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int(c-'0')
	}
	return i, i < maxChunks
}
