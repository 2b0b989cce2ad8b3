package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/session"
)

// SIDRevoker ends every session signed in with one identity-provider session id (the
// id_token's sid); *session.RedisStore satisfies it. It returns how many sessions it ended;
// errors wrap session.ErrStoreUnavailable when the store cannot be reached.
type SIDRevoker interface {
	RevokeSID(ctx context.Context, sid string) (int, error)
}

var _ SIDRevoker = (*session.RedisStore)(nil)

// maxSIDLen bounds the sid parameter: Entra's is a GUID; anything far longer is not a sid.
const maxSIDLen = 256

// frontChannelLogout is the front-channel logout URL registered with the provider (OpenID
// Connect Front-Channel Logout 1.0 §2): GET /oauth2/frontchannel_logout?sid=…, loaded by the
// provider's logout page in an iframe, without our cookies (third-party context) and, from
// Entra, without iss. It ends every session of that sid, so signing out of Entra anywhere
// signs the user out of every dashboard. Unknown sids are answered like known ones, so the
// endpoint tells nobody which sids exist.
func (s *server) frontChannelLogout(c *gin.Context) {
	sid := c.Query("sid")
	if sid == "" || len(sid) > maxSIDLen {
		s.fail(c, errorf(http.StatusBadRequest, "query parameter sid: required, at most 256 characters", nil))
		return
	}
	ctx := c.Request.Context()
	if s.Logout == nil {
		// The cookie store keeps no server state to end: say so to the operator, not Entra.
		s.Logger.InfoContext(ctx, "front-channel logout needs session.store redis; the cookie store cannot end sessions by sid")
	} else {
		n, err := s.Logout.RevokeSID(ctx, sid)
		if err != nil {
			s.fail(c, errorf(http.StatusServiceUnavailable, "session store unavailable; retry shortly", err))
			return
		}
		if n > 0 {
			s.Logger.InfoContext(ctx, "front-channel logout", "sessions", n)
		}
	}
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusOK)
}

// storeUnavailable turns a failure to reach the session store into a 503 with a short
// reason: the session may be fine, so the answer is never "sign in again".
func storeUnavailable(err error) (*httpError, bool) {
	if !errors.Is(err, session.ErrStoreUnavailable) {
		return nil, false
	}
	return errorf(http.StatusServiceUnavailable, "session store unavailable and no valid token cached; retry shortly", err), true
}
