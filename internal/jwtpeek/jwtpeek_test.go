package jwtpeek

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

func seg(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func signed(t *testing.T, payload string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name, raw string
		want      Parts
		wantErr   error
	}{
		{name: "three parts", raw: "h.p.s", want: Parts{Header: "h", Payload: "p", Signature: "s"}},
		{name: "opaque", raw: "opaque-token", wantErr: ErrNotJWT},
		{name: "two parts", raw: "h.p", wantErr: ErrNotJWT},
		{name: "four parts", raw: "a.b.c.d", wantErr: ErrNotJWT},
		{name: "JWE", raw: "a.b.c.d.e", wantErr: ErrEncrypted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Split(tc.raw)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Split error = %v; want %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("Split = %+v; want %+v", got, tc.want)
			}
			if err == nil && got.Compact() != tc.raw {
				t.Errorf("Compact = %q; want %q", got.Compact(), tc.raw)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, raw           string
		wantHeader, wantPay string
		wantErr             error
		wantMsg             string
	}{
		{name: "signed", raw: signed(t, `{"sub":"alice"}`), wantHeader: `{"alg":"HS256","typ":"JWT"}`, wantPay: `{"sub":"alice"}`},
		{name: "alg none is shown", raw: seg(`{"alg":"none"}`) + "." + seg(`{"a":1}`) + ".", wantHeader: `{"alg":"none"}`, wantPay: `{"a":1}`},
		{name: "padding tolerated", raw: seg(`{"alg":"none"}`) + "==." + seg(`{"a":1}`) + "=.", wantHeader: `{"alg":"none"}`, wantPay: `{"a":1}`},
		{name: "payload not JSON", raw: seg(`{"alg":"none"}`) + "." + seg("not json") + ".c2ln", wantErr: ErrMalformed, wantMsg: "JWT payload: not a JSON object"},
		{name: "payload a JSON array", raw: seg(`{"alg":"none"}`) + "." + seg(`[1]`) + ".", wantErr: ErrMalformed, wantMsg: "JWT payload: not a JSON object"},
		{name: "payload null", raw: seg(`{"alg":"none"}`) + "." + seg(`null`) + ".", wantErr: ErrMalformed, wantMsg: "JWT payload: not a JSON object"},
		{name: "header not base64url", raw: "*secret*." + seg(`{}`) + ".", wantErr: ErrMalformed, wantMsg: "JWT header: not base64url"},
		{name: "JWE", raw: "a.b.c.d.e", wantErr: ErrEncrypted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.raw)
			if !errors.Is(err, tc.wantErr) || (err != nil && !strings.Contains(err.Error(), tc.wantMsg)) {
				t.Fatalf("Decode error = %v; want %v containing %q", err, tc.wantErr, tc.wantMsg)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q quotes the token", err)
			}
			if string(got.Header) != tc.wantHeader || string(got.Payload) != tc.wantPay {
				t.Errorf("Decode = %s %s; want %s %s", got.Header, got.Payload, tc.wantHeader, tc.wantPay)
			}
		})
	}
}

func TestClaims(t *testing.T) {
	type claims struct {
		Sub string `json:"sub"`
		Exp int64  `json:"exp"`
	}
	tests := []struct {
		name, raw string
		want      claims
		wantErr   error
	}{
		{name: "signed", raw: signed(t, `{"sub":"alice","exp":42}`), want: claims{Sub: "alice", Exp: 42}},
		{name: "unsigned refused", raw: seg(`{"alg":"none"}`) + "." + seg(`{"sub":"mallory"}`) + ".", wantErr: ErrMalformed},
		{name: "claims of the wrong type", raw: signed(t, `{"sub":1}`), wantErr: ErrMalformed},
		{name: "opaque", raw: "opaque", wantErr: ErrNotJWT},
		{name: "JWE", raw: "a.b.c.d.e", wantErr: ErrEncrypted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got claims
			err := Claims(tc.raw, &got)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Claims error = %v; want %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("Claims = %+v; want %+v", got, tc.want)
			}
		})
	}
}
