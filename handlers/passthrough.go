package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/dashboards"
	"github.com/tokengate/tokengate/internal/idp"
)

// passThrough admits a caller without a session that brings its own bearer JWT (kubectl-like
// CLIs, scripts) when the profile trusts the token's issuer and audience, and the profile's
// policy admits the token's user. The token goes to the dashboard unchanged. It reports
// whether it answered.
func (s *server) passThrough(c *gin.Context, profile *dashboards.Profile) bool {
	raw, ok := bearerOf(c.Request)
	verifier := s.PassThrough[profile.Name]
	if !ok || verifier == nil {
		return false
	}
	id, err := verifier.Verify(c.Request.Context(), raw)
	switch {
	case errors.Is(err, idp.ErrUnavailable):
		s.fail(c, errorf(http.StatusServiceUnavailable, "the bearer token's issuer cannot be reached to check it; retry shortly", err))
		return true
	case err != nil:
		c.Header("WWW-Authenticate", `Bearer realm="tokengate", error="invalid_token"`)
		s.fail(c, errorf(http.StatusUnauthorized, "the bearer token was not accepted for "+profile.Name, err))
		return true
	}
	user := dashboards.User{OID: id.Subject, Name: id.Name, PreferredUsername: id.PreferredUsername,
		Email: id.Email, Groups: id.Groups, GroupsOverage: id.GroupsOverage}
	// No Graph lookup for pass-through callers: their token is all we know of them.
	if decision := profile.Admit(&user); !decision.Allowed {
		reason := decision.Reason
		if decision.NeedGroups {
			reason = profile.Name + " requires group membership, and the bearer token carries no group list (over 200 groups)."
		}
		s.fail(c, errorf(http.StatusForbidden, reason, nil))
		return true
	}
	h := c.Writer.Header()
	// Echo the token: ingress-nginx overwrites the upstream Authorization with ours.
	h["Authorization"] = []string{"Bearer " + raw}
	setIfPresent(h, "X-Auth-Request-User", user.Login())
	setIfPresent(h, "X-Auth-Request-Email", user.Email)
	h["Cache-Control"] = []string{"no-store"}
	c.Status(http.StatusOK)
	return true
}

func setIfPresent(h http.Header, key, value string) {
	if value != "" {
		h[key] = []string{value}
	}
}

// bearerOf returns the token of an "Authorization: Bearer …" header.
func bearerOf(r *http.Request) (string, bool) {
	v := r.Header.Get("Authorization")
	if len(v) < 7 || !strings.EqualFold(v[:7], "bearer ") {
		return "", false
	}
	tok := strings.TrimSpace(v[7:])
	return tok, tok != ""
}
