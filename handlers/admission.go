package handlers

import (
	"context"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/dashboards"
	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/secret"
	"github.com/tokengate/tokengate/session"
)

// Who may enter a dashboard, and the writing back of a refresh token that rotated while
// tokengate found out. /auth and the debug page share both: the page shows what /auth would
// decide now, and looking at it never costs the session.

// admission decides whether user may enter p's dashboard: p's allow-lists on the session's
// claims and, when the token carried Entra's groups overage claim instead of a group list,
// again on the complete list from Microsoft Graph. first is p.Admit(user): /auth computes it
// before this step to decide whether the step is worth a span, and it costs up to a few
// microseconds with a long group list.
//
// rotated is a refresh token that getting the Graph token rotated; the caller saves it with
// saveRotated. err is the GroupResolver's failure to list the groups (wrapping
// idp.ErrGraphDenied when Graph refused, idp.ErrInvalidGrant when the refresh token is dead);
// the decision is then a refusal without a reason, and the caller says why.
func (s *server) admission(ctx context.Context, p *dashboards.Profile, sess *session.Session, user *dashboards.User, first dashboards.Decision) (d dashboards.Decision, rotated secret.String, err error) {
	if !first.NeedGroups {
		return first, "", nil
	}
	if s.Groups == nil {
		return dashboards.Decision{Reason: "groups overage: the group list must come from Microsoft Graph, which is not configured"}, "", nil
	}
	groups, rotated, err := s.Groups.Groups(ctx, sess)
	if err != nil {
		return dashboards.Decision{}, "", err
	}
	return p.AdmitGroups(user, groups), rotated, nil
}

// saveRotated writes the session back with rt when rt is a refresh token that rotated during
// this request, and returns the session that carries the newest refresh token, for the later
// steps of the same request to compare against. sess is never changed: a store may share it
// with other requests (session.CookieStore.Load).
//
// whole says that every Set-Cookie of the answer reaches the browser: a page, or /auth
// behind Traefik or Caddy. Behind ingress-nginx, which relays only the first, the store
// writes only what fits in one cookie (SaveRotated); Entra keeps the old refresh token valid
// and the token cache uses the newest one.
func (s *server) saveRotated(c *gin.Context, sess *session.Session, rt secret.String, whole bool) *session.Session {
	if rt.IsEmpty() || rt == sess.RefreshToken {
		return sess
	}
	updated := *sess
	updated.RefreshToken = rt
	var err error
	if whole {
		err = s.Sessions.Save(c.Writer, c.Request, &updated)
	} else {
		_, err = s.Sessions.SaveRotated(c.Writer, c.Request, &updated)
	}
	if err != nil {
		s.Logger.WarnContext(c.Request.Context(), "could not write the rotated refresh token", "error", err)
	}
	return &updated
}

// tokenScope is the cache scope of the token a profile sends.
func tokenScope(p *dashboards.Profile) string {
	if p.Token == dashboards.IDToken {
		return idp.IDTokenScope
	}
	return p.Scope
}

// userOf is the view of the session the dashboards package decides on.
func userOf(sess *session.Session) dashboards.User {
	return dashboards.User{
		OID: sess.Subject, Name: sess.Name, PreferredUsername: sess.PreferredUsername,
		Email: sess.Email, Groups: sess.Groups, GroupsOverage: sess.GroupsOverage,
	}
}
