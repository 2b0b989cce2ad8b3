package handlers

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/session"
)

// signOut ends the session: GET or POST /oauth2/sign_out?rd=<url>. It clears every cookie
// chunk and the session's cached tokens, then sends the browser to the provider's
// end_session_endpoint (when it has one) so the provider's own session ends too.
func (s *server) signOut(c *gin.Context) {
	rd := s.redirects.Safe(c.Query("rd"))
	if sess, err := s.Sessions.Load(c.Request.Context(), c.Request); err == nil {
		s.forgetTokens(sess)
		s.Metrics.SignOut(c.Request.Context())
		s.Logger.InfoContext(c.Request.Context(), "signed out", "user", sess.PreferredUsername, "subject", sess.Subject)
	}
	s.Sessions.Clear(c.Writer, c.Request)
	target := rd
	if endSession := s.IdP.EndSessionURL(s.absolute(rd)); endSession != "" {
		target = endSession
	}
	redirect(c, target)
}

// absolute resolves a relative redirect against the public URL: the provider needs an
// absolute post_logout_redirect_uri, registered with the app.
func (s *server) absolute(rd string) string {
	if strings.HasPrefix(rd, "/") {
		return s.Config.PublicURL + rd
	}
	return rd
}

// forgetTokens drops every token the session may have in the cache: one per profile scope,
// the id_token, and the one of the sign-in.
func (s *server) forgetTokens(sess *session.Session) {
	s.Tokens.Forget(sess, s.Config.Provider.ResourceScope)
	s.Tokens.Forget(sess, idp.IDTokenScope)
	for _, scope := range s.Dashboards.AccessScopes() {
		s.Tokens.Forget(sess, scope)
	}
	if s.Groups != nil {
		s.Groups.Forget(sess)
	}
}
