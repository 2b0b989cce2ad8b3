package handlers

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"
	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/session"
)

// pendingSignIn is sealed into the CSRF cookie of one sign-in: it binds the callback to the
// browser that started it and carries the PKCE verifier and nonce that never leave it.
type pendingSignIn struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Redirect string `json:"r"`
	// Started orders the sign-ins in flight, so that a new one evicts the oldest
	// (pending.go); unix nanoseconds.
	Started int64 `json:"t"`
}

// stateLen is the length of a state: 32 random bytes in unpadded base64url.
const stateLen = 43

// start begins the authorization code flow with PKCE: GET /oauth2/start?rd=<url>.
func (s *server) start(c *gin.Context) {
	pending := pendingSignIn{
		State:    randomToken(),
		Nonce:    randomToken(),
		Verifier: oauth2.GenerateVerifier(),
		Redirect: s.redirects.Safe(c.Query("rd")),
		Started:  s.Now().UnixNano(),
	}
	authURL, err := s.IdP.AuthCodeURL(pending.State, pending.Nonce, pending.Verifier)
	if err != nil {
		s.fail(c, errorf(http.StatusServiceUnavailable, "the identity provider is not reachable yet; retry shortly", err))
		return
	}
	plain, err := json.Marshal(pending)
	if err != nil {
		s.fail(c, err)
		return
	}
	name := s.csrfCookieName(pending.State)
	sealed, err := s.Codec.Seal(name, plain, s.Now().Add(s.Config.Session.SignInTimeout))
	if err != nil {
		s.fail(c, err)
		return
	}
	s.evictPending(c.Writer, c.Request, len(name)+1+len(sealed)+2)
	http.SetCookie(c.Writer, s.csrfCookie(name, sealed, int(s.Config.Session.SignInTimeout.Seconds())))
	redirect(c, authURL)
}

// callback completes a sign-in: GET /oauth2/callback?code=…&state=…[&iss=…]. The state is
// checked against this browser's CSRF cookie before anything else, so a login-CSRF attempt
// costs no call to the identity provider and is a 403; then iss (RFC 9207) against the
// configured issuer when the provider sends it, before the code is redeemed.
func (s *server) callback(c *gin.Context) {
	setPageHeaders(c.Writer.Header())
	pending, err := s.openPending(c, c.Query("state"))
	if err != nil {
		// Checked before the provider's error too: only the browser that started this
		// sign-in may see what the provider said about it.
		s.fail(c, err)
		return
	}
	if iss, sent := c.GetQuery("iss"); sent && iss != s.Config.Provider.IssuerURL {
		// RFC 9207 §2.4: a response naming another issuer is a mix-up attack (or a
		// misconfiguration); its code, or its error, belongs to that issuer. Providers that
		// do not send iss (Entra ID today) are unaffected.
		s.fail(c, withRetry(errorf(http.StatusBadRequest,
			"the sign-in response names another identity provider (its iss parameter is not the configured issuer); start again", nil), s.retryLink(pending)))
		return
	}
	if idpErr := c.Query("error"); idpErr != "" {
		s.fail(c, providerRefusal(idpErr, c.Query("error_description"), s.retryLink(pending)))
		return
	}
	code := c.Query("code")
	if code == "" {
		s.fail(c, withRetry(errorf(http.StatusBadRequest, "the callback has no code parameter", nil), s.retryLink(pending)))
		return
	}
	signIn, err := s.IdP.Exchange(c.Request.Context(), code, pending.Verifier, pending.Nonce)
	if err != nil {
		s.fail(c, withRetry(exchangeFailure(err), s.retryLink(pending)))
		return
	}
	sess, err := s.newSession(signIn)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.Sessions.Save(c.Writer, c.Request, sess); err != nil {
		if errors.Is(err, session.ErrStoreUnavailable) {
			s.fail(c, withRetry(errorf(http.StatusServiceUnavailable, "the session store is unavailable; sign in again shortly", err), s.retryLink(pending)))
			return
		}
		if errors.Is(err, session.ErrTooLarge) {
			// Not our bug and not the user's: the provider put more claims (usually groups)
			// in the id_token than a session can carry. Entra sends its overage claim instead.
			s.fail(c, errorf(http.StatusBadRequest, fmt.Sprintf("the identity provider sent a sign-in too large to keep (%d groups); ask your administrator to limit the groups claim", len(sess.Groups)), err))
			return
		}
		s.fail(c, err)
		return
	}
	s.Tokens.Seed(sess, s.Config.Provider.ResourceScope, signIn.Token)
	if s.seedIDToken && !signIn.Token.IDToken.IsEmpty() {
		// Profiles for AKS structured authentication send the id_token itself.
		s.Tokens.Seed(sess, idp.IDTokenScope, idp.Token{
			AccessToken: signIn.Token.IDToken, RefreshToken: signIn.Token.RefreshToken, Expiry: signIn.IDTokenExpiry,
		})
	}
	s.Metrics.SignIn(c.Request.Context())
	s.Logger.InfoContext(c.Request.Context(), "signed in", "user", sess.PreferredUsername, "subject", sess.Subject, "groups", len(sess.Groups))
	redirect(c, pending.Redirect)
}

// openPending finds and opens the CSRF cookie named from state and clears it: each sign-in
// is single use.
func (s *server) openPending(c *gin.Context, state string) (*pendingSignIn, error) {
	if !validState(state) {
		return nil, errorf(http.StatusForbidden, "the sign-in state is missing or malformed; start again", nil)
	}
	name := s.csrfCookieName(state)
	cookie, err := c.Request.Cookie(name)
	if err != nil {
		return nil, errorf(http.StatusForbidden, "this sign-in was not started in this browser, was replaced by newer ones, or took too long; start again", err)
	}
	http.SetCookie(c.Writer, s.csrfCookie(name, "", -1))
	plain, err := s.Codec.Open(name, cookie.Value)
	if err != nil {
		return nil, errorf(http.StatusForbidden, "the sign-in cookie is invalid or expired; start again", err)
	}
	var p pendingSignIn
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, errorf(http.StatusForbidden, "the sign-in cookie is invalid; start again", err)
	}
	if subtle.ConstantTimeCompare([]byte(p.State), []byte(state)) != 1 {
		return nil, errorf(http.StatusForbidden, "the sign-in state does not match; start again", nil)
	}
	p.Redirect = s.redirects.Safe(p.Redirect)
	return &p, nil
}

func (s *server) newSession(signIn *idp.SignIn) (*session.Session, error) {
	id, err := session.NewID()
	if err != nil {
		return nil, err
	}
	now := s.Now()
	ident := signIn.Identity
	return &session.Session{
		ID:                id,
		Subject:           ident.Subject,
		TenantID:          ident.TenantID,
		Issuer:            ident.Issuer,
		Name:              ident.Name,
		PreferredUsername: ident.PreferredUsername,
		Email:             ident.Email,
		Groups:            ident.Groups,
		GroupsOverage:     ident.GroupsOverage,
		SID:               ident.SID,
		RefreshToken:      signIn.Token.RefreshToken,
		CreatedAt:         now,
		ExpiresAt:         now.Add(s.Config.Session.Lifetime),
	}, nil
}

// csrfCookieName names the cookie of one pending sign-in after its state, so that several
// tabs can sign in at once without overwriting each other's verifier.
func (s *server) csrfCookieName(state string) string {
	return s.Config.Cookie.Name + "_csrf_" + state[:16]
}

func (s *server) csrfCookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/oauth2/", MaxAge: maxAge,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	}
}

func (s *server) retryLink(p *pendingSignIn) string {
	rd := "/"
	if p != nil {
		rd = p.Redirect
	}
	return "/oauth2/start?rd=" + url.QueryEscape(rd)
}

func withRetry(e *httpError, retry string) *httpError {
	e.retry = retry
	return e
}

// exchangeFailure says why a code redemption failed in words a person can act on, with
// what the provider said about it when that passed idp.PublicDescription's screen.
func exchangeFailure(err error) *httpError {
	e := exchangeReason(err)
	var pe *idp.ProviderError
	if errors.As(err, &pe) {
		e.detail = pe.Description
	}
	return e
}

func exchangeReason(err error) *httpError {
	switch {
	case errors.Is(err, idp.ErrVerification):
		return errorf(http.StatusUnauthorized, "the identity token of this sign-in did not verify", err)
	case errors.Is(err, idp.ErrInvalidGrant):
		return errorf(http.StatusBadRequest, "the sign-in code expired or was already used; sign in again", err)
	case errors.Is(err, idp.ErrConsentRequired):
		return errorf(http.StatusForbidden, "consent is required for the requested resource; ask an administrator to grant admin consent", err)
	case errors.Is(err, idp.ErrInvalidClient):
		return errorf(http.StatusBadGateway, "the identity provider rejected tokengate's client credentials; the operator must fix them", err)
	}
	return errorf(http.StatusServiceUnavailable, "the identity provider is not reachable; retry shortly", err)
}

// providerRefusal shows the error the identity provider sent back instead of a code. The
// code goes into the reason (and so the log) only when it has the syntax of an OAuth error
// code; the description, screened, only onto this browser's page.
func providerRefusal(code, description string, retry string) *httpError {
	status := http.StatusBadRequest
	switch code {
	case "access_denied", "consent_required", "interaction_required", "login_required":
		status = http.StatusForbidden
	case "temporarily_unavailable", "server_error":
		status = http.StatusServiceUnavailable
	}
	e := withRetry(errorf(status, "the identity provider refused the sign-in: "+idp.ErrorCode(code), nil), retry)
	e.detail = idp.PublicDescription(description)
	return e
}

func validState(state string) bool {
	if len(state) != stateLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(state)
	return err == nil
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
