// Package jwtpeek reads a compact JWT without verifying it. It is the one place tokengate,
// its doctor and the development provider cut a token at its dots and decode what is there.
//
// Nothing read here may decide access on its own: the claims are unverified. They serve to
// pick an issuer's keys before verification, to read a token received straight from the token
// endpoint over TLS (OIDC Core 3.1.3.7 lets a client rely on TLS server validation then), and
// to show a token to a person. Errors never quote the token.
package jwtpeek

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// ErrNotJWT is the error of a token that is not shaped as a compact JWS: an opaque token or a
// truncated one.
var ErrNotJWT = errors.New("not a JWT")

// ErrMalformed is the error of a token with three parts that do not decode.
var ErrMalformed = errors.New("malformed JWT")

// ErrEncrypted is the error of an encrypted JWT (JWE, five parts): only its recipient can
// read it.
var ErrEncrypted = errors.New("an encrypted JWT (JWE)")

// Parts are the three base64url segments of a compact JWS (RFC 7515 section 7.1), undecoded.
type Parts struct {
	Header, Payload, Signature string
}

// Split cuts a compact JWS at its dots. Errors wrap ErrNotJWT or ErrEncrypted and say how many
// parts there were.
func Split(raw string) (Parts, error) {
	parts := strings.Split(raw, ".")
	switch len(parts) {
	case 3:
		return Parts{Header: parts[0], Payload: parts[1], Signature: parts[2]}, nil
	case 5:
		return Parts{}, fmt.Errorf("%w: five parts", ErrEncrypted)
	}
	return Parts{}, fmt.Errorf("%w: want three base64url parts separated by dots, got %d part(s)", ErrNotJWT, len(parts))
}

// Compact joins the parts back into a compact JWS.
func (p Parts) Compact() string {
	return p.Header + "." + p.Payload + "." + p.Signature
}

// Token is a JWT decoded for reading: the JSON of its header and of its payload, exactly as
// the issuer wrote them. The signature is dropped unread.
type Token struct {
	Header, Payload json.RawMessage
}

// Decode decodes a compact JWT's header and payload, each of which must be a JSON object.
// It is for showing a token to a person, so it is lenient where Claims is not: it reads any
// "alg" (even "none") and tolerates the base64 padding some encoders add. Errors wrap
// ErrNotJWT, ErrEncrypted or ErrMalformed and name the part that failed.
func Decode(raw string) (Token, error) {
	p, err := Split(raw)
	if err != nil {
		return Token{}, err
	}
	header, err := decodeObject(p.Header)
	if err != nil {
		return Token{}, &partError{part: "header", reason: err.Error()}
	}
	payload, err := decodeObject(p.Payload)
	if err != nil {
		return Token{}, &partError{part: "payload", reason: err.Error()}
	}
	return Token{Header: header, Payload: payload}, nil
}

// partError says which part of a JWT did not decode, and why, without quoting it.
type partError struct{ part, reason string }

func (e *partError) Error() string { return "JWT " + e.part + ": " + e.reason }
func (e *partError) Unwrap() error { return ErrMalformed }

// decodeObject decodes one base64url segment holding a JSON object. Its errors do not quote
// the segment, nor the JSON decoder's message (which may quote a character of it).
func decodeObject(seg string) (json.RawMessage, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return nil, errors.New("not base64url")
	}
	b = bytes.TrimSpace(b)
	var obj map[string]json.RawMessage
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &obj) != nil {
		return nil, errors.New("not a JSON object")
	}
	return b, nil
}

// algorithms are every signature algorithm go-jose knows. Claims reads without verifying, so
// the algorithm does not matter; the list only keeps go-jose from refusing a real one.
var algorithms = []jose.SignatureAlgorithm{
	jose.EdDSA, jose.HS256, jose.HS384, jose.HS512, jose.RS256, jose.RS384, jose.RS512,
	jose.ES256, jose.ES384, jose.ES512, jose.PS256, jose.PS384, jose.PS512,
}

// Claims decodes the payload of a signed compact JWT into v without verifying it, through
// go-jose's unverified-payload API. An unsigned token ("alg": "none") is refused. Errors wrap
// ErrNotJWT, ErrEncrypted or ErrMalformed.
//
// The payload goes through encoding/json rather than jwt.UnsafeClaimsWithoutVerification,
// whose JSON fork does not fill encoding/json's Number and RawMessage the same way.
func Claims(raw string, v any) error {
	if _, err := Split(raw); err != nil {
		return err
	}
	jws, err := jose.ParseSignedCompact(raw, algorithms)
	if err != nil {
		return &partError{part: "header or signature", reason: publicReason(err)}
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), v); err != nil {
		return &partError{part: "payload", reason: "not the expected JSON claims"}
	}
	return nil
}

// publicReason keeps go-jose's own message only when it cannot echo the token: its base64 and
// JSON errors may quote a character of it.
func publicReason(err error) string {
	var alg *jose.ErrUnexpectedSignatureAlgorithm
	if errors.As(err, &alg) {
		return fmt.Sprintf("signature algorithm %.20q is not a known one", alg.Got)
	}
	return "does not decode"
}
