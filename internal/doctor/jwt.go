package doctor

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tokengate/tokengate/internal/jwtpeek"
)

// maxTokenBytes bounds a token read for explanation; Entra's largest are a few KiB.
const maxTokenBytes = 64 << 10

// Token is a JWT decoded without checking its signature: for explanation only, never for a
// decision. It holds the header and the claims, not the raw token or the signature.
type Token struct {
	Header map[string]any
	Claims map[string]any
}

// ParseToken decodes a compact JWT (an optional "Bearer " prefix and surrounding space are
// ignored). Its errors never quote the token.
func ParseToken(raw string) (*Token, error) {
	raw = strings.TrimSpace(raw)
	if len(raw) >= 7 && strings.EqualFold(raw[:7], "bearer ") {
		raw = strings.TrimSpace(raw[7:])
	}
	if raw == "" {
		return nil, errors.New("the token is empty")
	}
	if len(raw) > maxTokenBytes {
		return nil, fmt.Errorf("the token is larger than %d bytes", maxTokenBytes)
	}
	tok, err := jwtpeek.Decode(raw)
	switch {
	case errors.Is(err, jwtpeek.ErrEncrypted):
		return nil, errors.New("this is an encrypted JWT (JWE, five parts): only its recipient can read it")
	case errors.Is(err, jwtpeek.ErrNotJWT):
		return nil, fmt.Errorf("%w; an opaque token can only be explained by its issuer", err)
	case err != nil:
		return nil, err // names the part that does not decode
	}
	// Decode checked that both are JSON objects, so these cannot fail.
	t := &Token{}
	if err := json.Unmarshal(tok.Header, &t.Header); err != nil {
		return nil, fmt.Errorf("JWT header: %w", err)
	}
	if err := json.Unmarshal(tok.Payload, &t.Claims); err != nil {
		return nil, fmt.Errorf("JWT payload: %w", err)
	}
	return t, nil
}

// str returns a string claim, or "".
func (t *Token) str(name string) string {
	s, _ := t.Claims[name].(string)
	return s
}

// strs returns a claim that may be one string or a list of strings (aud, groups).
func (t *Token) strs(name string) []string {
	switch v := t.Claims[name].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func (t *Token) has(name string) bool {
	_, ok := t.Claims[name]
	return ok
}
