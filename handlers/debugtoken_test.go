package handlers

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestDecodeForDebug(t *testing.T) {
	seg := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name                  string
		raw                   string
		wantHeader, wantClaim string
		wantNote              string
	}{
		{name: "JWT", raw: seg(`{"alg":"RS256"}`) + "." + seg(`{"aud":"6dae42f8-4368-4678-94ff-3960e28e3630"}`) + ".c2lnbmF0dXJl",
			wantHeader: `"alg": "RS256"`, wantClaim: `"aud": "6dae42f8-4368-4678-94ff-3960e28e3630"`},
		{name: "opaque token", raw: "opaque-access-token", wantNote: "not a JWT (an opaque token); not shown"},
		{name: "JWE", raw: "a.b.c.d.e", wantNote: "not a JWT (an opaque token); not shown"},
		{name: "payload not JSON", raw: seg(`{"alg":"RS256"}`) + "." + seg("secret text") + ".c2ln", wantNote: "not a decodable JWT; not shown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := decodeForDebug(tc.raw)
			if got.Note != tc.wantNote {
				t.Errorf("Note = %q; want %q", got.Note, tc.wantNote)
			}
			if !strings.Contains(got.Header, tc.wantHeader) || !strings.Contains(got.Payload, tc.wantClaim) {
				t.Errorf("Header %q, Payload %q; want them to hold %q and %q", got.Header, got.Payload, tc.wantHeader, tc.wantClaim)
			}
			if tc.wantNote != "" && (got.Header != "" || got.Payload != "") {
				t.Errorf("shows %q %q for a token it cannot decode; want nothing", got.Header, got.Payload)
			}
			if strings.Contains(got.Header+got.Payload, "c2ln") {
				t.Errorf("the signature is shown; want it dropped")
			}
		})
	}
}
