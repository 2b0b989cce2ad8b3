package idp

import (
	"io"
	"net/http"
	"strings"
)

// go-oidc appends a provider's whole answer to its errors when discovery or a key set fetch
// fails ("404 Not Found: <body>", "oidc: get keys failed: 500 … <body>", "oidc: failed to
// decode keys: … <body>"), and the answer may echo anything. Two layers keep it out of our
// errors: quietTransport gives go-oidc no error body to append, and libraryError cuts what
// still reaches an error's text.

// quietTransport replaces the body of every non-2xx answer with an empty one: the status
// says enough, and go-oidc then has nothing to append to its error.
type quietTransport struct{ base http.RoundTripper }

func (q quietTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := q.base.RoundTrip(req)
	if err != nil || resp.StatusCode/100 == 2 {
		return resp, err
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(""))
	resp.ContentLength = 0
	return resp, nil
}

// quietClient is client with quietTransport, for go-oidc's discovery and key set fetches
// only: x/oauth2 needs the token endpoint's error body to read its error code.
func quietClient(client *http.Client) *http.Client {
	base := client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	quiet := *client
	quiet.Transport = quietTransport{base: base}
	return &quiet
}

// maxLibraryError bounds the text of a library's error in ours.
const maxLibraryError = 300

// libraryError is the text of an error go-oidc built, fit for a log line: no query string, no
// answer body (everything from the first "{" or "<", where a JSON or HTML body starts), cut
// short, and reduced to its first clause when the rest looks like a credential.
func libraryError(err error) string {
	msg := redactURLError(err)
	if i := strings.IndexAny(msg, "{<"); i >= 0 {
		msg = strings.TrimSpace(msg[:i]) + " [answer withheld]"
	}
	if len(msg) > maxLibraryError {
		msg = msg[:maxLibraryError] + "…"
	}
	if looksLikeCredential(msg) {
		head, _, _ := strings.Cut(msg, ":")
		msg = head + ": [details withheld: they quote what looks like a credential]"
	}
	return msg
}
