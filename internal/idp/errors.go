package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// ProviderError is an error answer of the token endpoint. Its text, which logs and spans
// carry, holds only the status, the OAuth error code, Entra's suberror and AADSTS number, and
// its trace and correlation ids, each reduced to its syntax: never the description or the
// error_uri, which may echo the request's credentials.
type ProviderError struct {
	Status   int    // HTTP status of the answer
	Code     string // RFC 6749 "error", e.g. invalid_grant; "unrecognized" when malformed
	SubError string // Entra "suberror", e.g. consent_required
	AADSTS   int    // Entra's error number, 0 when none
	// TraceID and CorrelationID are Entra's ids of the failed request, when GUIDs: what
	// Microsoft support asks for.
	TraceID, CorrelationID string
	// Description is the first line of error_description screened by PublicDescription:
	// empty when it looked like it held a credential. Only the user's own error page and
	// doctor show it; Error never includes it.
	Description string
	kind        error // one of the package sentinels, or nil
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
	if e.AADSTS != 0 {
		msg += fmt.Sprintf(" AADSTS%d", e.AADSTS)
	}
	if e.TraceID != "" {
		msg += " trace_id=" + e.TraceID
	}
	if e.CorrelationID != "" {
		msg += " correlation_id=" + e.CorrelationID
	}
	return msg
}

// Unwrap lets errors.Is match the sentinel that tells the caller what to do.
func (e *ProviderError) Unwrap() error { return e.kind }

// tokenErrorBody is a token endpoint's JSON error answer, with Entra's additions.
type tokenErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	SubError    string `json:"suberror"`
	// Codes is kept raw: a provider's odd error_codes must not cost us its error code.
	Codes         json.RawMessage `json:"error_codes"`
	TraceID       string          `json:"trace_id"`
	CorrelationID string          `json:"correlation_id"`
}

// newProviderError classifies a token-endpoint error answer (h: its headers, nil when
// unknown). Throttling (429, Entra's loop detection and tenant throttling) comes first: Entra
// may send loop detection as a 400 invalid_grant, and ending the user's session for it would
// be wrong. sent are the values of the request, which the description must not quote to be
// shown.
func newProviderError(status int, b tokenErrorBody, h http.Header, sent ...string) *ProviderError {
	code := b.Error
	if code != "" {
		code = ErrorCode(code)
	}
	sub := b.SubError
	if sub != "" {
		sub = ErrorCode(sub)
	}
	e := &ProviderError{
		Status: status, Code: code, SubError: sub, AADSTS: aadstsOf(b.Codes, b.Description),
		TraceID: errorID(b.TraceID), CorrelationID: errorID(b.CorrelationID),
		Description: PublicDescription(b.Description, sent...),
	}
	throttled, wait := throttling(status, e.AADSTS, h, time.Now())
	switch {
	case throttled:
		e.kind, e.retryAfter = ErrThrottled, wait
	case code == "invalid_grant" && sub == "consent_required",
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
// sent are the request's values, which a description shown to the user must not quote.
func classify(err error, sent ...string) error {
	var retrieve *oauth2.RetrieveError
	if errors.As(err, &retrieve) {
		status, h := 0, http.Header(nil)
		if retrieve.Response != nil {
			status, h = retrieve.Response.StatusCode, retrieve.Response.Header
		}
		var b tokenErrorBody
		if json.Unmarshal(retrieve.Body, &b) != nil || b.Error == "" {
			// x/oauth2 also reads form-encoded errors; it found the code and description.
			b = tokenErrorBody{Error: retrieve.ErrorCode, Description: retrieve.ErrorDescription}
		}
		return newProviderError(status, b, h, sent...)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return fmt.Errorf("%w: %w: %v", ErrUnavailable, ErrNotSent, redactURLError(err))
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, redactURLError(err))
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
