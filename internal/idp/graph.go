package idp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/tokengate/tokengate/internal/secret"
)

// GraphScope is the scope tokengate refreshes for when it must read a user's groups from
// Graph. Microsoft's reference for getMemberObjects ("Memberships for the signed-in user")
// names User.Read as the least privileged delegated permission for /me; every app
// registration has it by default, so no extra admin consent is needed.
const GraphScope = "https://graph.microsoft.com/User.Read"

// ErrGraphDenied means Microsoft Graph refused the token (401) or the call (403): the Graph
// token is invalid or lacks the User.Read delegated permission. Retrying will not help.
var ErrGraphDenied = errors.New("microsoft graph denied the group lookup")

// maxGraphResponse bounds a getMemberObjects answer: Graph returns at most 11,000 ids of 38
// bytes each, well under 1 MiB.
const maxGraphResponse = 1 << 20

// GraphClient reads group memberships from Microsoft Graph. It is safe for concurrent use.
type GraphClient struct {
	base string
	http *http.Client
}

// NewGraphClient returns a client for the Graph at baseURL (https://graph.microsoft.com, or a
// national cloud's). httpClient makes every call and must carry a timeout.
func NewGraphClient(baseURL string, httpClient *http.Client) *GraphClient {
	return &GraphClient{base: strings.TrimRight(baseURL, "/"), http: httpClient}
}

// MemberGroups returns every group object id the token's user belongs to (transitively), with
// POST /v1.0/me/getMemberObjects. The answer is not paged: Graph returns every id or, past
// 11,000, an error. Errors wrap ErrGraphDenied (401/403), ErrUnavailable (transport, 429,
// 5xx, garbage) or ctx's error; none contains the token.
func (g *GraphClient) MemberGroups(ctx context.Context, graphToken secret.String) ([]string, error) {
	if graphToken.IsEmpty() {
		return nil, fmt.Errorf("graph member groups: %w: no Graph token", ErrGraphDenied)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.base+"/v1.0/me/getMemberObjects",
		bytes.NewReader([]byte(`{"securityEnabledOnly":false}`)))
	if err != nil {
		return nil, fmt.Errorf("graph member groups: build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+graphToken.Reveal())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := g.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("graph member groups: %w", ctx.Err())
		}
		return nil, fmt.Errorf("graph member groups: %w: %v", ErrUnavailable, redactURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxGraphResponse+1))
	if err != nil {
		return nil, fmt.Errorf("graph member groups: %w: read answer: %v", ErrUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("graph member groups: %w", graphStatusError(resp.StatusCode, body))
	}
	if len(body) > maxGraphResponse {
		return nil, fmt.Errorf("graph member groups: %w: answer larger than %d bytes", ErrUnavailable, maxGraphResponse)
	}
	var out struct {
		Value *[]string `json:"value"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Value == nil {
		return nil, fmt.Errorf("graph member groups: %w: answer is not a list of ids", ErrUnavailable)
	}
	for _, id := range *out.Value {
		if id == "" {
			return nil, fmt.Errorf("graph member groups: %w: answer holds an empty id", ErrUnavailable)
		}
	}
	return *out.Value, nil
}

// graphStatusError classifies a Graph error answer. Its text carries the status, Graph's
// error code and its request id, when they have their syntax: never Graph's message, which
// may quote the request.
func graphStatusError(status int, body []byte) error {
	var e struct {
		Error struct {
			Code       string `json:"code"`
			InnerError struct {
				RequestID string `json:"request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e) // a non-JSON error page still has a status to classify
	detail := fmt.Sprintf("Graph answered %d", status)
	if e.Error.Code != "" {
		detail += " " + graphCode(e.Error.Code)
	}
	if id := errorID(e.Error.InnerError.RequestID); id != "" {
		detail += " request_id=" + id
	}
	switch {
	case status == http.StatusUnauthorized:
		return fmt.Errorf("%w: %s (the Graph token was not accepted)", ErrGraphDenied, detail)
	case status == http.StatusForbidden:
		return fmt.Errorf("%w: %s (the app registration needs the delegated Microsoft Graph permission User.Read, consented, and tokengate must request %s)",
			ErrGraphDenied, detail, GraphScope)
	case status == http.StatusTooManyRequests || status >= http.StatusInternalServerError:
		return fmt.Errorf("%w: %s", ErrUnavailable, detail)
	}
	return errors.New(detail)
}

// graphCode returns Graph's error code ("Authorization_RequestDenied") when it has the
// syntax of one, else "unrecognized".
func graphCode(code string) string {
	if graphCodeSyntax.MatchString(code) && !looksLikeCredential(code) {
		return code
	}
	return "unrecognized"
}

var graphCodeSyntax = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.]{0,63}$`)
