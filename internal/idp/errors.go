package idp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// ProviderError is an error answer of the token endpoint. Its text carries the OAuth error
// code and the first line of the description (Entra's "AADSTSnnnnn: …"), never the body,
// which may echo request parameters.
type ProviderError struct {
	Status      int    // HTTP status of the answer
	Code        string // RFC 6749 "error", e.g. invalid_grant
	SubError    string // Entra "suberror", e.g. consent_required
	Description string // first line of "error_description"
	kind        error  // one of the package sentinels, or nil
	retryAfter  time.Duration
}

func (e *ProviderError) Error() string {
	msg := fmt.Sprintf("token endpoint answered %d", e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.SubError != "" {
		msg += " (" + e.SubError + ")"
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// Unwrap lets errors.Is match the sentinel that tells the caller what to do.
func (e *ProviderError) Unwrap() error { return e.kind }

// newProviderError classifies a token-endpoint error answer. Throttling (429, Entra's loop
// detection and tenant throttling) comes first: Entra may send loop detection as a 400
// invalid_grant, and ending the user's session for it would be wrong.
func newProviderError(status int, code, subError, description string, h http.Header) *ProviderError {
	e := &ProviderError{Status: status, Code: code, SubError: subError, Description: firstLine(description)}
	throttled, wait := throttling(status, e.Description, h, time.Now())
	switch {
	case throttled:
		e.kind, e.retryAfter = ErrThrottled, wait
	case code == "invalid_grant" && subError == "consent_required",
		code == "consent_required":
		e.kind = ErrConsentRequired
	case code == "invalid_grant":
		e.kind = ErrInvalidGrant
	case code == "invalid_client" || code == "unauthorized_client":
		e.kind = ErrInvalidClient
	case status >= http.StatusInternalServerError || status == http.StatusTooManyRequests,
		code == "temporarily_unavailable" || code == "server_error":
		e.kind = ErrUnavailable
	}
	return e
}

// classify turns whatever an outbound token call returned into an error that unwraps to one
// of the sentinels where one applies. Transport failures and timeouts are ErrUnavailable.
func classify(err error) error {
	var retrieve *oauth2.RetrieveError
	if errors.As(err, &retrieve) {
		status, h := 0, http.Header(nil)
		if retrieve.Response != nil {
			status, h = retrieve.Response.StatusCode, retrieve.Response.Header
		}
		return newProviderError(status, retrieve.ErrorCode, subErrorOf(retrieve.Body), retrieve.ErrorDescription, h)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, redactURLError(err))
}

// firstLine keeps "AADSTS70008: The provided authorization code … has expired." and drops the
// trace and correlation ids that follow it.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	s = strings.TrimSpace(strings.TrimSuffix(s, "\r"))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// redactURLError strips the query string net/url errors print: a token URL never carries
// secrets, but a misconfigured one might.
func redactURLError(err error) string {
	msg := err.Error()
	if i := strings.IndexByte(msg, '?'); i >= 0 {
		if j := strings.IndexAny(msg[i:], "\": "); j >= 0 {
			return msg[:i] + msg[i+j:]
		}
		return msg[:i]
	}
	return msg
}
