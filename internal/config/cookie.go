package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/tokengate/tokengate/internal/secret"
)

// CookieKeyBytes is the length of a cookie key: AES-256-GCM.
const CookieKeyBytes = 32

// CookieKeys returns the decoded cookie keys. The first seals new cookies; all of them open, so
// a key can be rotated by putting the new one first and keeping the old one until sessions
// sealed with it have ended. Errors name the key's index, never its value.
func (c *Config) CookieKeys() ([][]byte, error) {
	if len(c.Cookie.Secrets) == 0 {
		return nil, errors.New("config: cookie.secrets: no cookie key configured")
	}
	keys := make([][]byte, len(c.Cookie.Secrets))
	for i, s := range c.Cookie.Secrets {
		k, err := decodeCookieKey(s)
		if err != nil {
			return nil, fmt.Errorf("config: %s: %w", c.cookieSecretKey(i), err)
		}
		keys[i] = k
	}
	return keys, nil
}

// cookieSecretKey names the i-th cookie secret by where the operator wrote it.
func (c *Config) cookieSecretKey(i int) string {
	if len(c.Cookie.SecretFiles) == len(c.Cookie.Secrets) {
		return fmt.Sprintf("cookie.secretFiles[%d]", i)
	}
	return fmt.Sprintf("cookie.secrets[%d]", i)
}

// decodeCookieKey accepts every base64 flavour people generate keys with (openssl rand -base64
// gives std padded, Go's RawURLEncoding gives URL raw) and insists on 32 bytes.
func decodeCookieKey(s secret.String) ([]byte, error) {
	v := strings.TrimSpace(s.Reveal())
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		k, err := enc.DecodeString(v)
		if err != nil {
			continue
		}
		if len(k) != CookieKeyBytes {
			return nil, fmt.Errorf("decodes to %d bytes; want %d (AES-256)", len(k), CookieKeyBytes)
		}
		return k, nil
	}
	// Deliberately no detail from the decoder: its error quotes the offending byte.
	return nil, errors.New("not base64 (std or URL alphabet, padded or not); generate one with: openssl rand -base64 32")
}

// isCookieToken reports whether name is an RFC 6265 cookie-name (an RFC 2616 token).
func isCookieToken(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, r) {
			return false
		}
	}
	return true
}
