package devidp

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

const graphMemberObjects = "/v1.0/me/getMemberObjects"

// graphTokens signs the overage user in and returns her refresh token and access tokens for
// Graph with User.Read, for Graph with another permission, and for AKS.
func graphTokens(t *testing.T, e *env) (userRead, mailRead, aks string) {
	t.Helper()
	status, body := e.tokenCall(t, redeemForm(e.authorize(t, "overage", signInScopes...), ""))
	if status != http.StatusOK {
		t.Fatalf("redeem = %d %v", status, body["error_description"])
	}
	aks = body["access_token"].(string)
	rt := body["refresh_token"].(string)
	get := func(scope string) string {
		status, body := e.tokenCall(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {scope}})
		if status != http.StatusOK {
			t.Fatalf("refresh for %s = %d %v", scope, status, body["error_description"])
		}
		return body["access_token"].(string)
	}
	return get("openid offline_access https://graph.microsoft.com/User.Read"), get("Mail.Read"), aks
}

// callGraph posts body to the stand-in with the given Authorization header ("" for none).
func callGraph(t *testing.T, e *env, authorization, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.p.GraphURL()+graphMemberObjects, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST getMemberObjects: %v", err)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(readBody(t, resp)), &out); err != nil {
		t.Fatalf("getMemberObjects answer is not JSON: %v", err)
	}
	return resp.StatusCode, resp.Header, out
}

func TestGraphMemberObjects(t *testing.T) {
	e := newEnv(t, nil)
	if want := e.srv.URL + "/graph"; e.p.GraphURL() != want {
		t.Errorf("GraphURL = %s; want %s", e.p.GraphURL(), want)
	}
	userRead, _, aks := graphTokens(t, e)
	if names := jwtPart(t, aks, 1)["_claim_names"]; names == nil || jwtPart(t, aks, 1)["groups"] != nil {
		t.Fatalf("overage user's AKS token has _claim_names %v and groups present %v; want the overage claim only",
			names, jwtPart(t, aks, 1)["groups"] != nil)
	}
	status, _, body := callGraph(t, e, "Bearer "+userRead, `{"securityEnabledOnly": false}`)
	if status != http.StatusOK {
		t.Fatalf("getMemberObjects = %d %v; want 200", status, body["error"])
	}
	values, _ := body["value"].([]any)
	var ids []string
	for _, v := range values {
		s, _ := v.(string)
		ids = append(ids, s)
	}
	if len(ids) != overageGroupsCount || !slices.Contains(ids, GroupDevelopers) || !slices.Contains(ids, projectGroupID(projectGroupsCount)) {
		t.Errorf("getMemberObjects gave %d ids; want all %d of the overage user's groups", len(ids), overageGroupsCount)
	}
	if _, paged := body["@odata.nextLink"]; paged {
		t.Error("answer has @odata.nextLink; getMemberObjects is not paged")
	}
	if got := e.p.GraphCalls(); got != 1 {
		t.Errorf("GraphCalls = %d; want 1", got)
	}
}

func TestGraphMemberObjectsErrors(t *testing.T) {
	e := newEnv(t, nil)
	userRead, mailRead, aks := graphTokens(t, e)
	tamper := func(tok string) string {
		parts := strings.Split(tok, ".")
		claims := jwtPart(t, tok, 1)
		claims["oid"] = "a11ce000-0000-4000-8000-0000000a11ce" // alice
		raw, _ := json.Marshal(claims)
		parts[1] = base64.RawURLEncoding.EncodeToString(raw)
		return strings.Join(parts, ".")
	}
	okBody := `{"securityEnabledOnly": true}`
	tests := []struct {
		name          string
		authorization string
		body          string
		advance       time.Duration
		wantStatus    int
		wantCode      string
		wantMessage   string
	}{
		{name: "no token", body: okBody, wantStatus: 401, wantCode: "InvalidAuthenticationToken", wantMessage: "empty"},
		{name: "basic scheme", authorization: "Basic " + userRead, body: okBody, wantStatus: 401, wantCode: "InvalidAuthenticationToken", wantMessage: "empty"},
		{name: "garbage", authorization: "Bearer not-a-jwt", body: okBody, wantStatus: 401, wantCode: "InvalidAuthenticationToken", wantMessage: "well formed"},
		{name: "tampered claims", authorization: "Bearer " + tamper(userRead), body: okBody, wantStatus: 401, wantCode: "InvalidAuthenticationToken", wantMessage: "signature"},
		{name: "AKS token", authorization: "Bearer " + aks, body: okBody, wantStatus: 401, wantCode: "InvalidAuthenticationToken", wantMessage: "audience"},
		{name: "expired", authorization: "Bearer " + userRead, body: okBody, advance: 91 * time.Minute, wantStatus: 401, wantCode: "InvalidAuthenticationToken", wantMessage: "expired"},
		{name: "without User.Read", authorization: "Bearer " + mailRead, body: okBody, wantStatus: 403, wantCode: "Authorization_RequestDenied", wantMessage: "Insufficient privileges"},
		{name: "no body", authorization: "Bearer " + userRead, body: "", wantStatus: 400, wantCode: "Request_BadRequest", wantMessage: "securityEnabledOnly"},
		{name: "parameter missing", authorization: "Bearer " + userRead, body: `{}`, wantStatus: 400, wantCode: "Request_BadRequest", wantMessage: "securityEnabledOnly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.clock.Advance(tt.advance)
			defer e.clock.Advance(-tt.advance)
			status, header, body := callGraph(t, e, tt.authorization, tt.body)
			errObj, _ := body["error"].(map[string]any)
			msg, _ := errObj["message"].(string)
			if status != tt.wantStatus || errObj["code"] != tt.wantCode || !strings.Contains(msg, tt.wantMessage) {
				t.Fatalf("got %d %v %q; want %d %s containing %q", status, errObj["code"], msg, tt.wantStatus, tt.wantCode, tt.wantMessage)
			}
			if inner, _ := errObj["innerError"].(map[string]any); inner["request-id"] == nil {
				t.Errorf("innerError = %v; want Graph's request-id", errObj["innerError"])
			}
			if wwwAuth := header.Get("WWW-Authenticate"); (status == 401) != strings.HasPrefix(wwwAuth, "Bearer ") {
				t.Errorf("WWW-Authenticate = %q on %d; want a Bearer challenge exactly on 401", wwwAuth, status)
			}
		})
	}
	if got := e.p.GraphCalls(); got != len(tests) {
		t.Errorf("GraphCalls = %d; want %d (refused calls count)", got, len(tests))
	}
}
