package identity

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/net/idna"
)

// Limits of RFC 5321 §4.5.3.1: local part 64 octets, whole path 256 with its brackets.
const (
	maxLocalPart = 64
	maxAddress   = 254
)

// ErrNotEmail means a value is not one plain e-mail address. The wrapping error says why,
// in words fit for the user's refusal page.
var ErrNotEmail = errors.New("not a single plain e-mail address")

// ErrDomain means a domain name is not a valid (internationalised) host name.
var ErrDomain = errors.New("not a valid domain name")

// Email is a parsed e-mail address. Domain is in its ASCII (punycode) form, lower case.
type Email struct {
	Local  string
	Domain string
}

// String is the address as tokengate sends it on: the local part as the provider wrote
// it, the domain normalised.
func (e Email) String() string { return e.Local + "@" + e.Domain }

// Key is the comparison form: ASCII letters of the local part folded too. Entra and the
// other common providers treat local parts case-insensitively; RFC 5321 leaves it to
// the receiving domain.
func (e Email) Key() string { return ASCIILower(e.Local) + "@" + e.Domain }

// ParseEmail accepts exactly one RFC 5322 addr-spec of the dot-atom form: ASCII local
// part, exactly one "@", a domain name. It refuses display names ("Alice <a@b>"),
// comments, quoted local parts (where an "@" can hide: "\"a@evil\"@example.com"), address
// literals ("a@[10.0.0.1]") and anything with spaces or control characters. Those forms
// are legal mail syntax, but no identity provider issues them for a user, and every one
// of them has been used to make a parser read another domain than the mail system would.
// The domain is normalised by Domain.
func ParseEmail(v string) (Email, error) {
	if err := emailShape(v); err != nil {
		return Email{}, fmt.Errorf("%w: %w", ErrNotEmail, err)
	}
	at := strings.IndexByte(v, '@')
	local, domain := v[:at], v[at+1:]
	if err := checkLocalPart(local); err != nil {
		return Email{}, fmt.Errorf("%w: %w", ErrNotEmail, err)
	}
	d, err := Domain(domain)
	if err != nil {
		return Email{}, fmt.Errorf("%w: the part after @ is %w", ErrNotEmail, err)
	}
	return Email{Local: local, Domain: d}, nil
}

// emailShape rejects, with the reason a person understands, the forms that are not a
// bare addr-spec. One pass over the bytes: /auth checks an address on every request.
func emailShape(v string) error {
	switch {
	case v == "":
		return errors.New("it is empty")
	case len(v) > maxAddress:
		return fmt.Errorf("it is longer than %d bytes", maxAddress)
	}
	var ats int
	var angle, comment, quote, literal, space bool
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '@':
			ats++
		case c == '<' || c == '>':
			angle = true
		case c == '(' || c == ')':
			comment = true
		case c == '"':
			quote = true
		case c == '[' || c == ']':
			literal = true
		case c <= ' ' || c == 0x7f:
			space = true
		}
	}
	switch {
	case angle:
		return errors.New("it has a display name or angle brackets")
	case comment:
		return errors.New("it has a comment")
	case quote:
		return errors.New("it has a quoted local part")
	case literal:
		return errors.New("it has an address literal instead of a domain")
	case space:
		return errors.New("it has spaces or control characters")
	case ats == 0:
		return errors.New("it has no @")
	case ats > 1:
		return errors.New("it has more than one @")
	}
	return nil
}

// checkLocalPart accepts an RFC 5322 dot-atom of ASCII atext.
func checkLocalPart(l string) error {
	switch {
	case l == "":
		return errors.New("nothing comes before the @")
	case len(l) > maxLocalPart:
		return fmt.Errorf("the part before @ is longer than %d bytes", maxLocalPart)
	case l[0] == '.' || l[len(l)-1] == '.' || strings.Contains(l, ".."):
		return errors.New("the part before @ has a leading, trailing or doubled dot")
	}
	for i := 0; i < len(l); i++ {
		if !isAtext(l[i]) && l[i] != '.' {
			return errors.New("the part before @ has characters outside plain ASCII letters, digits and !#$%&'*+-/=?^_`{|}~")
		}
	}
	return nil
}

// isAtext is RFC 5322 §3.2.3 atext.
func isAtext(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// registration is IDNA2008 validation for registration (RFC 5891 §4): a label must already
// be in its mapped form, so full-width letters, ligatures and other compatibility
// look-alikes are refused rather than mapped onto the ASCII name they imitate.
var registration = idna.New(idna.ValidateForRegistration())

// Domain is the comparison form of a domain name: ASCII letters folded to lower case,
// internationalised labels in their punycode (A-label) form, so "Bücher.de" and
// "xn--bcher-kva.de" are one domain. It refuses a trailing dot (an absolute name, never
// what an address or a configuration means), empty labels, names over 253 bytes and
// labels IDNA2008 does not allow.
func Domain(v string) (string, error) {
	switch {
	case v == "":
		return "", fmt.Errorf("%w: it is empty", ErrDomain)
	case strings.HasSuffix(v, "."):
		return "", fmt.Errorf("%w: it ends with a dot", ErrDomain)
	case strings.HasPrefix(v, "."):
		return "", fmt.Errorf("%w: it starts with a dot", ErrDomain)
	}
	v = ASCIILower(v)
	if plainASCIIDomain(v) {
		return v, nil
	}
	a, err := registration.ToASCII(v)
	if err != nil || !strings.Contains(a, ".") {
		return "", fmt.Errorf("%w: want a host name of two labels or more in IDNA2008 form "+
			"(lower case, no look-alike compatibility characters)", ErrDomain)
	}
	if last := a[strings.LastIndexByte(a, '.')+1:]; strings.Trim(last, "0123456789") == "" {
		return "", fmt.Errorf("%w: it ends in a number, like an IP address", ErrDomain)
	}
	return a, nil
}

// plainASCIIDomain reports whether v is lower-case letter-digit-hyphen labels that IDNA
// would return unchanged, ending in a non-numeric label: the common case, decided without
// the IDNA tables because /auth checks addresses on every request.
func plainASCIIDomain(v string) bool {
	if len(v) > 253 {
		return false
	}
	labels := 0
	for l := range strings.SplitSeq(v, ".") {
		labels++
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' ||
			(len(l) >= 4 && l[2] == '-' && l[3] == '-') { // "xn--" and other reserved forms
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	last := v[strings.LastIndexByte(v, '.')+1:]
	// A numeric last label goes the long way, whose error explains it.
	return labels > 1 && strings.Trim(last, "0123456789") != ""
}
