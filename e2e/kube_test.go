package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/devidp"
	"github.com/tokengate/tokengate/internal/localkube"
)

// Paths the dashboard calls on the API server.
const (
	listNamespaces = "/api/v1/namespaces"
	listTeamPods   = "/api/v1/namespaces/" + localkube.TeamNamespace + "/pods"
)

// TestKubeRBAC signs each sample user in through NGINX and lets the real API server decide:
// tokengate's AKS token authenticates the user as AKS names Entra users (upn, else oid; the
// groups' object ids), and the RBAC fixture authorizes.
func TestKubeRBAC(t *testing.T) {
	t.Parallel()
	env := sharedKube(t)
	s := newKubeStack(t, env, kubeStackOptions{Tenant: aksTenant, Profiles: kubeProfiles})
	for _, tc := range []struct {
		user, username, group string
		namespaces, teamPods  int // statuses of the two lists
	}{
		{user: "alice", username: "alice@contoso.example", group: devidp.GroupPlatformAdmins, namespaces: http.StatusOK, teamPods: http.StatusOK},
		{user: "bob", username: "bob@contoso.example", group: devidp.GroupDevelopers, namespaces: http.StatusForbidden, teamPods: http.StatusOK},
		// The guest account has no upn, so AKS (and this cluster) names it by its oid.
		{user: "guest", username: "9e570000-0000-4000-8000-0000000009e5", group: devidp.GroupViewers, namespaces: http.StatusForbidden, teamPods: http.StatusForbidden},
	} {
		t.Run(tc.user, func(t *testing.T) {
			b := s.newBrowser()
			s.signIn(b, https(headlamp, "/"), tc.user)
			who, status := whoAmI(t, b, headlamp)
			if status != http.StatusCreated {
				t.Fatalf("SelfSubjectReview as %s got %d; want 201", tc.user, status)
			}
			if who.Username != tc.username || !slices.Contains(who.Groups, tc.group) || !slices.Contains(who.Groups, "system:authenticated") {
				t.Errorf("whoami: got %q in %q; want %q in %s and system:authenticated", who.Username, who.Groups, tc.username, tc.group)
			}
			for _, c := range []struct {
				path string
				want int
			}{{listNamespaces, tc.namespaces}, {listTeamPods, tc.teamPods}} {
				if got, body := kubeCall(t, b, headlamp, http.MethodGet, c.path, ""); got != c.want {
					t.Errorf("GET %s as %s: got %d; want %d\n%s", c.path, tc.user, got, c.want, snippet([]byte(body)))
				}
			}
		})
	}
}

// TestKubeIDTokenRefused reproduces the failure tokengate exists for, against a real API
// server set up like AKS: the same signed-in user, the same cluster, the same call; the
// profile that forwards the id_token gets 401, the profile with the AKS access token 200,
// behind ingress-nginx and behind Traefik.
func TestKubeIDTokenRefused(t *testing.T) {
	t.Parallel()
	env := sharedKube(t)
	for _, proxy := range []string{"nginx", "traefik"} {
		t.Run(proxy, func(t *testing.T) {
			s := newKubeStack(t, env, kubeStackOptions{Proxy: proxy, Tenant: aksTenant, Profiles: kubeProfiles})
			b := s.newBrowser()
			s.signIn(b, https(headlamp, "/"), "alice")
			for _, tc := range []struct {
				name, host string
				want       int
			}{
				{name: "AKS access token", host: headlamp, want: http.StatusOK},
				{name: "id_token", host: idtokenHost, want: http.StatusUnauthorized},
			} {
				t.Run(tc.name, func(t *testing.T) {
					got, body := kubeCall(t, b, tc.host, http.MethodGet, listNamespaces, "")
					if got != tc.want {
						t.Fatalf("GET %s through the %s profile: got %d; want %d\n%s", listNamespaces, tc.name, got, tc.want, snippet([]byte(body)))
					}
				})
			}
			// The 401 must come from the API server, not from tokengate: the dashboard did
			// forward a token, and it was the id_token (audience tokengate's client id).
			toks := s.dashboard.Tokens()
			if len(toks) != 2 || jwtClaim(t, toks[1], "aud") != e2eClientID || jwtClaim(t, toks[0], "aud") != localkube.AKSServerAppID {
				t.Fatalf("forwarded tokens: got %d with audiences %v; want the AKS token, then the id_token", len(toks), audiences(t, toks))
			}
		})
	}
}

// TestKubeStructuredAuth signs in with a non-Entra issuer whose id_token the cluster takes
// under AKS structured authentication: the user is aks:jwt:<sub>, as the CEL mapping says,
// and RBAC grants that user nothing.
func TestKubeStructuredAuth(t *testing.T) {
	t.Parallel()
	env := sharedKube(t)
	s := newKubeStack(t, env, kubeStackOptions{Tenant: oidcTenant, Profiles: structuredProfiles})
	b := s.newBrowser()
	s.signIn(b, https(headlamp, "/"), "bob")
	// This authenticator has no app-only control token (its audience is the client id), so
	// the user's own token is the control: wait, bounded, until it is accepted.
	kubeCall(t, b, headlamp, http.MethodGet, "/version", "")
	toks := s.dashboard.Tokens()
	if len(toks) == 0 {
		t.Fatal("the dashboard received no token")
	}
	who, err := env.cluster.WaitAccepted(t.Context(), toks[0], authenticatorWait)
	mustf(t, err, "structured authenticator")
	if want := localkube.AKSJWTPrefix + jwtClaim(t, toks[0], "sub"); who.Username != want {
		t.Errorf("username: got %q; want %q", who.Username, want)
	}
	for _, g := range who.Groups {
		if !strings.HasPrefix(g, localkube.AKSJWTPrefix) && !strings.HasPrefix(g, "system:") {
			t.Errorf("group %q lacks the %s prefix", g, localkube.AKSJWTPrefix)
		}
	}
	viaProxy, status := whoAmI(t, b, headlamp)
	if status != http.StatusCreated || viaProxy.Username != who.Username {
		t.Errorf("whoami through NGINX: got %d %q; want 201 %q", status, viaProxy.Username, who.Username)
	}
	if got, _ := kubeCall(t, b, headlamp, http.MethodGet, listTeamPods, ""); got != http.StatusForbidden {
		t.Errorf("GET %s as an aks:jwt: user without bindings: got %d; want 403", listTeamPods, got)
	}
}

// jwtClaim returns a string claim of a JWT's payload, unverified: the API server verified it.
func jwtClaim(t *testing.T, raw, name string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("forwarded bearer is not a JWT (%d parts)", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	mustf(t, err, "decode JWT payload")
	var claims map[string]any
	mustf(t, json.Unmarshal(payload, &claims), "JWT claims")
	switch v := claims[name].(type) {
	case string:
		return v
	case []any:
		if len(v) == 1 {
			s, _ := v[0].(string)
			return s
		}
	}
	return ""
}

func audiences(t *testing.T, toks []string) []string {
	out := make([]string, len(toks))
	for i, tok := range toks {
		out[i] = jwtClaim(t, tok, "aud")
	}
	return out
}
