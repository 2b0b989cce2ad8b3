package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/internal/forward"
	"github.com/tokengate/tokengate/internal/idp"
)

// httpError is an answer decided by a handler: the status, a short public reason, and the
// private cause that only the log sees.
type httpError struct {
	status int
	reason string
	cause  error
	// retry, when set, is the "sign in again" link of HTML pages; empty means a plain
	// fresh sign-in.
	retry string
	// detail is what the identity provider said about this browser's own sign-in, already
	// screened for credentials; only its HTML page shows it, never a log or a text answer.
	detail string
}

func (e *httpError) Error() string {
	if e.cause != nil {
		return e.reason + ": " + e.cause.Error()
	}
	return e.reason
}

func (e *httpError) Unwrap() error { return e.cause }

func errorf(status int, reason string, cause error) *httpError {
	return &httpError{status: status, reason: reason, cause: cause}
}

// fail is the one place an error becomes an answer. Browsers get a short HTML page with the
// security headers of every page and a "sign in again" link; the ingress and API clients
// get text. A 5xx is logged with its cause (a throttled one at debug level, see below); a
// 4xx at debug level, since bad input from the internet is not an operator's problem.
func (s *server) fail(c *gin.Context, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		he = errorf(http.StatusInternalServerError, "internal error", err)
	}
	attrs := []any{"route", c.FullPath(), "status", he.status, "reason", he.reason}
	if he.cause != nil {
		attrs = append(attrs, "error", he.cause.Error())
	}
	ctx := c.Request.Context()
	switch {
	case errors.Is(he.cause, idp.ErrThrottled):
		// Counted by tokengate_idp_limited_total, and the provider's pauses are logged once
		// each: a line per refused request would flood the log just when the replica is
		// overloaded.
		s.Logger.DebugContext(ctx, "request refused: token calls limited", attrs...)
	case he.status >= http.StatusInternalServerError:
		s.Logger.ErrorContext(ctx, "request failed", attrs...)
	default:
		s.Logger.DebugContext(ctx, "request refused", attrs...)
	}
	c.Header("Cache-Control", "no-store")
	if wait, ok := idp.RetryAfter(he.cause); ok && he.status == http.StatusServiceUnavailable {
		// RFC 9110 10.2.3: whole seconds, rounded up so a client never comes back too early.
		c.Header("Retry-After", strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10))
	}
	if wantsHTML(c) {
		retry := he.retry
		if retry == "" {
			retry = s.signInURL
		}
		data := pageData{Status: he.status, Title: http.StatusText(he.status), Reason: he.reason, Detail: he.detail, Retry: retry}
		if err := writePage(c, he.status, errorPage, data); err != nil {
			s.Logger.ErrorContext(ctx, "render error page", "error", err)
			c.Header("Content-Type", "text/plain; charset=utf-8")
			c.String(http.StatusInternalServerError, "internal error\n")
		}
		c.Abort()
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Content-Type", "text/plain; charset=utf-8")
	c.String(he.status, he.reason+"\n")
	c.Abort()
}

// navigationKey marks an /auth request for a browser page navigation: Traefik and Caddy
// show our answer to the person, so a refusal there is a page.
const navigationKey = "tokengate.navigation"

// wantsHTML is true for browser page loads of tokengate's own pages, and for /auth answers
// to a page navigation.
func wantsHTML(c *gin.Context) bool {
	r := c.Request
	if r.URL.Path == authRoute || r.URL.Path == oauth2AuthRoute {
		return c.GetBool(navigationKey)
	}
	switch r.Header.Get("Sec-Fetch-Mode") {
	case "navigate":
		return true
	case "":
		return forward.AcceptsHTML(r.Header.Values("Accept"))
	}
	return false
}
