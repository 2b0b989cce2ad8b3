package dashboards

import (
	"fmt"
	"net/textproto"
	"strings"
)

// field is one value a header template may use.
type field int

const (
	literal field = iota
	fieldToken
	fieldUser
	fieldEmail
	fieldName
	fieldPreferredUsername
	fieldGroups
	fieldOID
)

var placeholders = map[string]field{
	"token": fieldToken, "user": fieldUser, "email": fieldEmail, "name": fieldName,
	"preferred_username": fieldPreferredUsername, "groups": fieldGroups, "oid": fieldOID,
}

// segment is a piece of a compiled template: a literal or a field.
type segment struct {
	field field
	text  string
}

// Header is one response header of a profile, compiled once so that /auth only concatenates.
type Header struct {
	Name     string // canonical form
	segments []segment
}

// compileHeader parses "Bearer ${token}" into segments. Unknown placeholders are errors:
// a typo would otherwise send an empty identity to the dashboard.
func compileHeader(name, template string) (Header, error) {
	h := Header{Name: textproto.CanonicalMIMEHeaderKey(name)}
	rest := template
	for rest != "" {
		start := strings.Index(rest, "${")
		if start < 0 {
			h.segments = append(h.segments, segment{text: rest})
			break
		}
		if start > 0 {
			h.segments = append(h.segments, segment{text: rest[:start]})
		}
		end := strings.IndexByte(rest[start:], '}')
		if end < 0 {
			return Header{}, fmt.Errorf("unclosed ${ in %q", template)
		}
		name := rest[start+2 : start+end]
		f, ok := placeholders[name]
		if !ok {
			return Header{}, fmt.Errorf("unknown placeholder ${%s}; use ${token}, ${user}, ${email}, ${name}, ${preferred_username}, ${groups} or ${oid}", name)
		}
		h.segments = append(h.segments, segment{field: f})
		rest = rest[start+end+1:]
	}
	for _, s := range h.segments {
		if s.field == literal && clean(s.text) != s.text {
			return Header{}, fmt.Errorf("control characters in %q", template)
		}
	}
	return h, nil
}

// usesToken reports whether the header carries the token.
func (h Header) usesToken() bool {
	for _, s := range h.segments {
		if s.field == fieldToken {
			return true
		}
	}
	return false
}

// render builds the value. A header whose every field is empty renders empty and is not
// sent: "Bearer " without a token or an empty user helps nobody.
//
// The token is not cleaned: internal/idp accepts only tokens of RFC 6750 b64token syntax,
// and scanning a 2–12 KB token on every /auth was a quarter of the handler's time.
func (h Header) render(u *User, token string) string {
	if len(h.segments) == 1 {
		switch f := h.segments[0].field; f {
		case fieldToken:
			return token
		case literal:
		default:
			return clean(u.value(f, token))
		}
	}
	var b strings.Builder
	b.Grow(h.size(u, token))
	anyField, anyValue := false, false
	for _, s := range h.segments {
		if s.field == literal {
			b.WriteString(s.text)
			continue
		}
		anyField = true
		v := u.value(s.field, token)
		if s.field != fieldToken {
			v = clean(v)
		}
		if v != "" {
			anyValue = true
			b.WriteString(v)
		}
	}
	if anyField && !anyValue {
		return ""
	}
	return b.String()
}

// clean drops characters that cannot travel in a header value. Claims come from the
// identity provider, but a display name is typed by people.
func clean(v string) string {
	// A byte loop: the value is often a 2–12 KB token, scanned on every /auth. Bytes of
	// UTF-8 sequences are all >= 0x80, so dropping control bytes keeps the text valid.
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return dropControls(v)
		}
	}
	return v
}

func dropControls(v string) string {
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if c := v[i]; c >= 0x20 && c != 0x7f {
			b = append(b, c)
		}
	}
	return string(b)
}

// size is the length of the rendered value, so the builder allocates once.
func (h Header) size(u *User, token string) int {
	n := 0
	for _, s := range h.segments {
		switch s.field {
		case literal:
			n += len(s.text)
		case fieldGroups: // without joining them twice
			for _, g := range u.Groups {
				n += len(g) + 1
			}
		default:
			n += len(u.value(s.field, token))
		}
	}
	return n
}
