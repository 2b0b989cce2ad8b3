package idp

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestPublicDescription(t *testing.T) {
	tests := []struct {
		name string
		in   string
		sent []string
		want string
	}{
		{name: "entra first line kept", in: "AADSTS65004: User declined to consent to access the app.\r\nTrace ID: 1\r\nCorrelation ID: 2", want: "AADSTS65004: User declined to consent to access the app."},
		{name: "guid and url kept", in: "AADSTS50011: The redirect URI 'https://auth.example.com/oauth2/callback' does not match app '6dae42f8-4368-4678-94ff-3960e28e3630'.", want: "AADSTS50011: The redirect URI 'https://auth.example.com/oauth2/callback' does not match app '6dae42f8-4368-4678-94ff-3960e28e3630'."},
		{name: "form body echoed", in: "bad request: grant_type=refresh_token&refresh_token=0.AXoA", want: ""},
		{name: "percent-encoded form", in: "bad request client_secret%3Dabc", want: ""},
		{name: "secret by name", in: "Invalid client secret provided", want: ""},
		{name: "jwt", in: "assertion eyJhbGciOiJSUzI1NiJ9.e30.sig rejected", want: ""},
		{name: "bearer header", in: "Authorization: Bearer abc", want: ""},
		{name: "token-like run", in: "token 0AXoAk7Qz9xYb2Lm4Np6Rs8Tu1Vw3 rejected", want: ""},
		{name: "a sent value quoted", in: "the code hello-code-1 is unknown", sent: []string{"hello-code-1"}, want: ""},
		{name: "short sent values ignored", in: "AADSTS70008: The code expired.", sent: []string{"code"}, want: "AADSTS70008: The code expired."},
		{name: "long cut short", in: strings.Repeat("word ", 100), want: strings.Repeat("word ", 40) + "…"},
		{name: "invalid utf-8", in: "bad \xff text", want: ""},
		{name: "empty", in: "", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := PublicDescription(tc.in, tc.sent...); got != tc.want {
				t.Errorf("PublicDescription(%q) = %q; want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestProviderErrorTextCarriesOnlyIDs(t *testing.T) {
	const guid = "0b7c6c1e-5d1a-4f7e-9a39-2d2b8f6e1a11"
	e := newProviderError(400, tokenErrorBody{
		Error: "invalid_grant", SubError: "bad_token", Codes: json.RawMessage(`[70008]`),
		Description: "AADSTS70008: The provided authorization code or refresh token has expired.",
		TraceID:     guid, CorrelationID: "refresh_token=leak",
	}, nil)
	want := "token endpoint answered 400 invalid_grant (bad_token) AADSTS70008 trace_id=" + guid
	if e.Error() != want {
		t.Errorf("Error() = %q; want %q", e.Error(), want)
	}
	if e.Description == "" {
		t.Error("Description is empty; want the screened first line for the user's page")
	}
	odd := newProviderError(400, tokenErrorBody{Error: "client_secret=abc", SubError: "Bearer x"}, nil)
	if got := odd.Error(); strings.Contains(got, "abc") || strings.Contains(got, "Bearer") {
		t.Errorf("Error() = %q; want malformed codes replaced", got)
	}
	var b tokenErrorBody
	if err := json.Unmarshal([]byte(`{"error":"invalid_grant","error_codes":["x"],"error_description":"AADSTS50173: revoked"}`), &b); err != nil {
		t.Fatalf("odd error_codes: %v; want the body still read", err)
	}
	if e := newProviderError(400, b, nil); !errors.Is(e, ErrInvalidGrant) || e.AADSTS != 50173 {
		t.Errorf("odd error_codes: %v, AADSTS %d; want invalid_grant AADSTS50173 from the description", e, e.AADSTS)
	}
}

// Whatever a provider writes, PublicDescription returns nothing, or one short line of its
// text that quotes no sent value and holds no form encoding.
func FuzzPublicDescription(f *testing.F) {
	for _, seed := range []string{
		"AADSTS65004: User declined to consent.\r\nTrace ID: 1",
		"grant_type=refresh_token&refresh_token=0.AXoA",
		"token eyJhbGciOiJSUzI1NiJ9.e30.sig",
		strings.Repeat("é", 300),
	} {
		f.Add(seed, "sent-value-1")
	}
	f.Fuzz(func(t *testing.T, in, sent string) {
		got := PublicDescription(in, sent)
		if got == "" {
			return
		}
		if strings.ContainsAny(got, "\r\n=&") || len(got) > maxPublicText+len("…") ||
			(len(sent) >= 6 && strings.Contains(got, sent)) {
			t.Fatalf("PublicDescription(%q, %q) = %q", in, sent, got)
		}
		if !strings.HasPrefix(in, strings.TrimSuffix(got, "…")) && !strings.Contains(in, strings.TrimSuffix(got, "…")) {
			t.Fatalf("PublicDescription(%q) = %q: not the provider's text", in, got)
		}
	})
}
