package idp

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/devidp"
	"github.com/tokengate/tokengate/internal/secret"
)

// overageSignIn signs the devidp's overage user in and returns the sign-in.
func overageSignIn(t *testing.T, f *fixture) *SignIn {
	t.Helper()
	verifier := strings.Repeat("g", 43)
	signIn, err := f.client.Exchange(t.Context(), f.code(t, "overage", "n-graph", verifier), verifier, "n-graph")
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return signIn
}

func TestMemberGroupsFromDevIDP(t *testing.T) {
	f := newFixture(t, AuthClientSecretPost, clientSecret)
	signIn := overageSignIn(t, f)
	if !signIn.Identity.GroupsOverage {
		t.Fatal("overage user's sign-in has no groups overage; the test would prove nothing")
	}
	graph := NewGraphClient(f.idp.GraphURL()+"/", &http.Client{Timeout: 5 * time.Second})
	refresh := func(scope string) secret.String {
		tok, err := f.client.Refresh(t.Context(), signIn.Token.RefreshToken, scope)
		if err != nil {
			t.Fatalf("Refresh(%s): %v", scope, err)
		}
		return tok.AccessToken
	}

	groups, err := graph.MemberGroups(t.Context(), refresh(GraphScope))
	if err != nil {
		t.Fatalf("MemberGroups: %v", err)
	}
	if len(groups) != 250 || !slices.Contains(groups, devidp.GroupDevelopers) {
		t.Errorf("MemberGroups gave %d groups; want the overage user's 250, developers among them", len(groups))
	}

	tests := []struct {
		name     string
		token    secret.String
		wantText string
	}{
		{name: "token without User.Read", token: refresh("https://graph.microsoft.com/Mail.Read"), wantText: "User.Read"},
		{name: "AKS token", token: signIn.Token.AccessToken, wantText: "InvalidAuthenticationToken"},
		{name: "no token", token: "", wantText: "no Graph token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := graph.MemberGroups(t.Context(), tc.token)
			if !errors.Is(err, ErrGraphDenied) || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("err = %v; want ErrGraphDenied mentioning %q", err, tc.wantText)
			}
			if !tc.token.IsEmpty() && strings.Contains(err.Error(), tc.token.Reveal()) {
				t.Error("error text contains the token")
			}
		})
	}
}

func TestMemberGroupsAnswers(t *testing.T) {
	const token = "graph-token-7c1e"
	closed := httptest.NewServer(nil)
	closed.Close()
	tests := []struct {
		name       string
		status     int
		body       string
		baseURL    string // instead of the fake Graph
		wantGroups []string
		wantIs     error // nil: an error that is neither denied nor unavailable
		wantText   string
	}{
		{name: "ids", status: 200, body: `{"value":["g1","g2"]}`, wantGroups: []string{"g1", "g2"}},
		{name: "no groups", status: 200, body: `{"@odata.context":"x","value":[]}`, wantGroups: []string{}},
		{name: "invalid token", status: 401, body: `{"error":{"code":"InvalidAuthenticationToken","message":"Lifetime validation failed, the token is expired."}}`,
			wantIs: ErrGraphDenied, wantText: "InvalidAuthenticationToken"},
		// Graph's message may quote the request: only the code and request id are kept.
		{name: "message echoes the token", status: 401, body: `{"error":{"code":"InvalidAuthenticationToken","message":"bad token ` + token + `","innerError":{"request-id":"0b7c6c1e-5d1a-4f7e-9a39-2d2b8f6e1a11"}}}`,
			wantIs: ErrGraphDenied, wantText: "request_id=0b7c6c1e-5d1a-4f7e-9a39-2d2b8f6e1a11"},
		{name: "code echoes the token", status: 400, body: `{"error":{"code":"` + token + `"}}`, wantText: "unrecognized"},
		{name: "missing permission", status: 403, body: `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`,
			wantIs: ErrGraphDenied, wantText: "User.Read"},
		{name: "throttled", status: 429, body: `{"error":{"code":"TooManyRequests"}}`, wantIs: ErrUnavailable},
		{name: "server error", status: 503, body: `<html>down</html>`, wantIs: ErrUnavailable, wantText: "503"},
		{name: "not JSON", status: 200, body: `<html>`, wantIs: ErrUnavailable},
		{name: "no value", status: 200, body: `{"error":null}`, wantIs: ErrUnavailable},
		{name: "empty id", status: 200, body: `{"value":["g1",""]}`, wantIs: ErrUnavailable},
		{name: "oversize", status: 200, body: `{"value":["` + strings.Repeat("a", maxGraphResponse) + `"]}`, wantIs: ErrUnavailable, wantText: "larger"},
		{name: "too many groups", status: 400, body: `{"error":{"code":"Directory_ResultSizeLimitExceeded","message":"Request would return more than 11000 results."}}`,
			wantText: "Directory_ResultSizeLimitExceeded"},
		{name: "unreachable", baseURL: closed.URL, wantIs: ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				var in map[string]any
				if r.Method != http.MethodPost || r.URL.Path != "/v1.0/me/getMemberObjects" ||
					r.Header.Get("Authorization") != "Bearer "+token || json.Unmarshal(body, &in) != nil || in["securityEnabledOnly"] != false {
					t.Errorf("request %s %s auth %q body %s; want POST getMemberObjects, the bearer token, securityEnabledOnly false",
						r.Method, r.URL.Path, r.Header.Get("Authorization"), body)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			base := srv.URL
			if tc.baseURL != "" {
				base = tc.baseURL
			}
			groups, err := NewGraphClient(base, &http.Client{Timeout: 5 * time.Second}).MemberGroups(t.Context(), token)
			if tc.wantGroups != nil {
				if err != nil || !slices.Equal(groups, tc.wantGroups) || groups == nil {
					t.Fatalf("got %v, %v; want %v", groups, err, tc.wantGroups)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %v; want an error", groups)
			}
			switch {
			case tc.wantIs != nil && !errors.Is(err, tc.wantIs):
				t.Errorf("err = %v; want errors.Is %v", err, tc.wantIs)
			case tc.wantIs == nil && (errors.Is(err, ErrGraphDenied) || errors.Is(err, ErrUnavailable)):
				t.Errorf("err = %v; want neither denied nor unavailable", err)
			}
			if !strings.Contains(err.Error(), tc.wantText) || strings.Contains(err.Error(), token) {
				t.Errorf("err = %q; want it to contain %q and not the token", err, tc.wantText)
			}
		})
	}
}
