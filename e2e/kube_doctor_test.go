package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/internal/devidp"
	"github.com/tokengate/tokengate/internal/localkube"
)

// TestDoctorAgreesWithAPIServer is a differential test: for each token, `tokengate doctor`
// and the real API server must agree on accept or refuse, the username and the groups. The
// API server is the reference. The tokens are signed with the tenants' own key, so only
// their claims differ; what doctor cannot see (signatures, which issuers a cluster trusts)
// is not in the table.
func TestDoctorAgreesWithAPIServer(t *testing.T) {
	t.Parallel()
	env := sharedKube(t)
	structuredOnly, err := localkube.AuthConfig{Structured: env.authConfig().Structured}.YAML()
	mustf(t, err, "structured authentication config")
	cfgFile := filepath.Join(t.TempDir(), "structured.yaml")
	writeFile(t, cfgFile, string(structuredOnly), 0o600)

	rows := doctorRows(env, time.Now())
	// The structured authenticator has no app-only control token: the first structured row,
	// which it must accept, is the control.
	i := slices.IndexFunc(rows, func(r doctorRow) bool { return r.name == structuredControl })
	control := env.signToken(t, oidcTenant, rows[i].claims)
	_, err = env.cluster.WaitAccepted(t.Context(), control, authenticatorWait)
	mustf(t, err, "structured authenticator")

	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			tok := env.signToken(t, row.tenant, row.claims)
			who, status, err := env.cluster.WhoAmI(t.Context(), tok)
			mustf(t, err, "SelfSubjectReview")
			cfg := ""
			if row.structured {
				cfg = cfgFile
			}
			doc := runDoctorToken(t, tok, cfg)
			if got, want := doc.accepted, status == http.StatusCreated; got != want {
				t.Fatalf("doctor accepts: %v; the API server answered %d\n%s", got, status, doc.out)
			}
			if status != http.StatusCreated {
				return
			}
			if doc.username != who.Username {
				t.Errorf("username: doctor %q; API server %q\n%s", doc.username, who.Username, doc.out)
			}
			groups := slices.DeleteFunc(slices.Clone(who.Groups), func(g string) bool { return strings.HasPrefix(g, "system:") })
			if row.structured && !slices.Equal(doc.groups, groups) {
				t.Errorf("groups: doctor %q; API server %q\n%s", doc.groups, groups, doc.out)
			}
			if !row.structured && doc.groupCount != len(groups) {
				t.Errorf("groups: doctor counts %d; API server has %q\n%s", doc.groupCount, groups, doc.out)
			}
		})
	}
}

// doctorRow is one token of the differential test.
type doctorRow struct {
	name       string
	tenant     string
	structured bool // doctor --structured-auth with the cluster's structured authenticator
	claims     map[string]any
}

// structuredControl names the row of doctorRows the structured authenticator must accept.
const structuredControl = "structured id_token"

// doctorRows are the tokens: AKS access tokens and their usual mistakes for the Entra
// authenticator, id_tokens for the structured one.
func doctorRows(env *kubeEnv, now time.Time) []doctorRow {
	aks, oidc := env.tenants[aksTenant], env.tenants[oidcTenant]
	user := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{"iss": aks.AccessTokenIssuer(), "aud": localkube.AKSServerAppID, "ver": "1.0",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "tid": aksTenant,
			"oid": "a11ce000-0000-4000-8000-0000000a11ce", "upn": "alice@contoso.example",
			"groups": []string{devidp.GroupPlatformAdmins}, "scp": "user.read", "appid": e2eClientID, "appidacr": "1"}
		mod(c)
		return c
	}
	idToken := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{"iss": oidc.Issuer(), "aud": e2eClientID, "ver": "2.0", "sub": "Zb0bSub-pairwise",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "tid": oidcTenant,
			"groups": []string{"team-b", "oncall"}}
		mod(c)
		return c
	}
	keep := func(map[string]any) {}
	return []doctorRow{
		{name: "AKS token", tenant: aksTenant, claims: user(keep)},
		{name: "AKS token without upn", tenant: aksTenant, claims: user(func(c map[string]any) { delete(c, "upn") })},
		{name: "AKS token without groups", tenant: aksTenant, claims: user(func(c map[string]any) { delete(c, "groups") })},
		{name: "expired", tenant: aksTenant, claims: user(func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() })},
		{name: "not yet valid", tenant: aksTenant, claims: user(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() })},
		{name: "Graph audience", tenant: aksTenant, claims: user(func(c map[string]any) { c["aud"] = "00000003-0000-0000-c000-000000000000" })},
		{name: "spn: audience", tenant: aksTenant, claims: user(func(c map[string]any) { c["aud"] = "spn:" + localkube.AKSServerAppID })},
		{name: "app-only token", tenant: aksTenant, claims: user(func(c map[string]any) {
			delete(c, "upn")
			delete(c, "scp")
			delete(c, "groups")
			c["idtyp"] = "app"
		})},
		{name: "id_token of the Entra tenant", tenant: aksTenant, claims: user(func(c map[string]any) {
			c["iss"], c["aud"], c["ver"] = aks.Issuer(), e2eClientID, "2.0"
			delete(c, "scp")
		})},
		{name: structuredControl, tenant: oidcTenant, structured: true, claims: idToken(keep)},
		{name: "structured, no groups", tenant: oidcTenant, structured: true, claims: idToken(func(c map[string]any) { delete(c, "groups") })},
		{name: "structured, other tenant", tenant: oidcTenant, structured: true, claims: idToken(func(c map[string]any) { c["tid"] = aksTenant })},
		{name: "structured, client audience wrong", tenant: oidcTenant, structured: true, claims: idToken(func(c map[string]any) { c["aud"] = "someone-else" })},
		{name: "structured, expired", tenant: oidcTenant, structured: true, claims: idToken(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() })},
	}
}

// doctorVerdict is what `tokengate doctor --token` printed, read back.
type doctorVerdict struct {
	out        string
	accepted   bool     // exit status 0: no check failed
	username   string   // the name it says the cluster uses
	groups     []string // structured: the mapped groups it lists
	groupCount int      // Entra: how many group ids it counts in the token
}

var (
	doctorUPN        = regexp.MustCompile(`AKS names the user (\S+) \(upn\)`)
	doctorOID        = regexp.MustCompile(`AKS names the user by the object id (\S+);`)
	doctorStructured = regexp.MustCompile(`the cluster names the user (\S+)`)
	doctorMapped     = regexp.MustCompile(`groups — \d+ mapped: (.+)`)
	doctorCount      = regexp.MustCompile(`groups — (\d+) group id\(s\)`)
)

func runDoctorToken(t *testing.T, token, structuredCfg string) doctorVerdict {
	t.Helper()
	args := []string{"doctor", "--token", "-"}
	if structuredCfg != "" {
		args = append(args, "--structured-auth", structuredCfg)
	}
	cmd := exec.Command(tokengateBin, args...)
	cmd.Stdin = strings.NewReader(token)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("tokengate doctor: %v\n%s", err, out.String())
	}
	v := doctorVerdict{out: out.String(), accepted: err == nil}
	for _, re := range []*regexp.Regexp{doctorUPN, doctorOID, doctorStructured} {
		if m := re.FindStringSubmatch(v.out); m != nil {
			v.username = m[1]
		}
	}
	if m := doctorMapped.FindStringSubmatch(v.out); m != nil {
		v.groups = strings.Split(m[1], ", ")
	}
	if m := doctorCount.FindStringSubmatch(v.out); m != nil {
		v.groupCount, _ = strconv.Atoi(m[1])
	}
	return v
}

// signToken signs claims with the tenant's key and key id, as the tenant would.
func (e *kubeEnv) signToken(t *testing.T, tenant string, claims map[string]any) string {
	t.Helper()
	p := e.tenants[tenant]
	resp, err := e.idpClient().Get(strings.TrimSuffix(p.AccessTokenIssuer(), "/") + "/discovery/keys")
	mustf(t, err, "tenant keys")
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	mustf(t, json.NewDecoder(resp.Body).Decode(&set), "decode tenant keys")
	if len(set.Keys) != 1 {
		t.Fatalf("tenant %s publishes %d keys; want 1", tenant, len(set.Keys))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: e.key, KeyID: set.Keys[0].KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	mustf(t, err, "signer")
	payload, err := json.Marshal(claims)
	mustf(t, err, "claims")
	jws, err := signer.Sign(payload)
	mustf(t, err, "sign")
	raw, err := jws.CompactSerialize()
	mustf(t, err, "serialize")
	return raw
}
