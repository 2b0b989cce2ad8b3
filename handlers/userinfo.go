package handlers

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/internal/idp"
)

// userInfo is the JSON of /oauth2/userinfo: who is signed in and which token /auth would
// send, described but never included.
type userInfo struct {
	User              string     `json:"user"`
	Subject           string     `json:"subject"`
	TenantID          string     `json:"tenantId,omitempty"`
	Name              string     `json:"name,omitempty"`
	PreferredUsername string     `json:"preferredUsername,omitempty"`
	Email             string     `json:"email,omitempty"`
	Groups            []string   `json:"groups"`
	SessionExpiresAt  time.Time  `json:"sessionExpiresAt"`
	Token             *tokenInfo `json:"token,omitempty"`
}

type tokenInfo struct {
	Scope     string    `json:"scope"`
	Audience  []string  `json:"audience,omitempty"`
	Issuer    string    `json:"issuer,omitempty"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// userinfo answers GET /oauth2/userinfo for the signed-in browser.
func (s *server) userinfo(c *gin.Context) {
	sess, err := s.Sessions.Load(c.Request.Context(), c.Request)
	if err != nil {
		s.fail(c, errorf(http.StatusUnauthorized, "not signed in", err))
		return
	}
	user := userOf(sess)
	info := userInfo{
		User:              user.Login(),
		Subject:           sess.Subject,
		TenantID:          sess.TenantID,
		Name:              sess.Name,
		PreferredUsername: sess.PreferredUsername,
		Email:             sess.Email,
		Groups:            sess.Groups,
		SessionExpiresAt:  sess.ExpiresAt.UTC(),
	}
	if info.Groups == nil {
		info.Groups = []string{}
	}
	scope := s.Config.Provider.ResourceScope
	if res, err := s.Tokens.Get(c.Request.Context(), sess, scope); err == nil {
		ti := &tokenInfo{Scope: scope, ExpiresAt: res.Token.Expiry.UTC()}
		if d, err := idp.DescribeAccessToken(res.Token.AccessToken.Reveal()); err == nil {
			ti.Audience, ti.Issuer = d.Audience, d.Issuer
		}
		info.Token = ti
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, info)
}
