// Package identity turns the identity values of tokens and of the configuration (e-mail
// addresses, domains, logins, object ids, group ids) into the one form they are compared
// in. Every allow-list check goes through it, so a value is never split, trimmed or
// lower-cased one way in one place and another way elsewhere. It is pure: no I/O.
package identity

import (
	"errors"
	"fmt"
	"strings"
)

// maxValue bounds a login, object id or group id. Entra's longest (a guest's
// "live.com#…" unique_name) is far below it; anything longer is not an identity.
const maxValue = 256

// ErrUnusable means a value cannot be compared at all: empty, too long, or holding spaces
// or control characters. Such a value never matches anything.
var ErrUnusable = errors.New("not a usable identity value")

// UserKey is the comparison form of a login, e-mail address or object id, as allowedUsers
// and the user's own claims are compared. A value with an "@" must be a strict e-mail
// address (ParseEmail) and compares as its Key; any other value compares with ASCII letters
// folded to lower case. Non-ASCII letters are never case-folded: Unicode folding would
// make "\u212Aim" (KELVIN SIGN) equal "kim".
func UserKey(v string) (string, error) {
	if err := checkValue(v); err != nil {
		return "", err
	}
	if strings.IndexByte(v, '@') >= 0 {
		e, err := ParseEmail(v)
		if err != nil {
			return "", err
		}
		return e.Key(), nil
	}
	return ASCIILower(v), nil
}

// GroupKey is the comparison form of a group id: the value itself, compared exactly.
// Entra group ids are lower-case GUIDs and other providers' group names are
// case-sensitive, so no folding is safe for both.
func GroupKey(v string) (string, error) {
	if err := checkValue(v); err != nil {
		return "", err
	}
	return v, nil
}

// checkValue refuses what cannot be an identity value.
func checkValue(v string) error {
	switch {
	case v == "":
		return fmt.Errorf("%w: it is empty", ErrUnusable)
	case len(v) > maxValue:
		return fmt.Errorf("%w: it is longer than %d bytes", ErrUnusable, maxValue)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c == 0x7f {
			return fmt.Errorf("%w: it holds spaces or control characters", ErrUnusable)
		}
	}
	return nil
}

// ASCIILower folds ASCII A-Z to a-z and leaves every other byte alone. It is the only
// case folding tokengate applies to identities and host names: strings.ToLower maps some
// non-ASCII letters onto ASCII ones (U+212A KELVIN SIGN becomes "k"), which would let a
// look-alike pass for the real thing. It does not allocate when v has no upper case.
func ASCIILower(v string) string {
	i := 0
	for i < len(v) && !(v[i] >= 'A' && v[i] <= 'Z') {
		i++
	}
	if i == len(v) {
		return v
	}
	b := []byte(v)
	for ; i < len(b); i++ {
		if c := b[i]; c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
