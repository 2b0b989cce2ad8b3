package devidp

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// entraError is one token-endpoint error in Entra's shape. text never holds a secret, code or
// token: only ids and the scope/redirect values the client sent.
type entraError struct {
	status   int
	code     string // OAuth error: invalid_grant, invalid_client, …
	aadsts   int
	text     string
	suberror string
}

func (e *entraError) Error() string { return fmt.Sprintf("%s: AADSTS%d: %s", e.code, e.aadsts, e.text) }

func invalidGrant(aadsts int, text string) *entraError {
	return &entraError{status: http.StatusBadRequest, code: "invalid_grant", aadsts: aadsts, text: text}
}

func invalidRequest(aadsts int, text string) *entraError {
	return &entraError{status: http.StatusBadRequest, code: "invalid_request", aadsts: aadsts, text: text}
}

func invalidClient(aadsts int, text string) *entraError {
	return &entraError{status: http.StatusUnauthorized, code: "invalid_client", aadsts: aadsts, text: text}
}

func missingParam(name string) *entraError {
	return invalidRequest(900144, "The request body must contain the following parameter: '"+name+"'.")
}

// entraTimestamp is the format of Entra's "timestamp" field and description trailer.
const entraTimestamp = "2006-01-02 15:04:05Z"

type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	Suberror         string `json:"suberror,omitempty"`
}

// writeError answers a token request with Entra's JSON error body. Like Entra it echoes the
// caller's client-request-id header as the correlation id.
func (p *Provider) writeError(w http.ResponseWriter, r *http.Request, e *entraError) {
	ts := p.now().UTC().Format(entraTimestamp)
	trace, corr := newGUID(), r.Header.Get("client-request-id")
	if !isGUID(corr) {
		corr = newGUID()
	}
	body := errorBody{
		Error: e.code,
		ErrorDescription: fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
			e.aadsts, e.text, trace, corr, ts),
		ErrorCodes:    []int{e.aadsts},
		Timestamp:     ts,
		TraceID:       trace,
		CorrelationID: corr,
		Suberror:      e.suberror,
	}
	if e.status == http.StatusUnauthorized && r.Header.Get("Authorization") != "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="devidp"`)
	}
	writeJSON(w, e.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
