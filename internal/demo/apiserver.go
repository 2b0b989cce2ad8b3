package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/tokengate/tokengate/internal/localkube"
)

// APIServer is a real Kubernetes API server the dashboard calls as the user, with the bearer
// token it received, as Headlamp does. WhoAmI is a SelfSubjectReview: 201 with the user, or
// the refusal's status (401) and no error; errors are for a server that could not be asked.
type APIServer interface {
	WhoAmI(ctx context.Context, token string) (localkube.UserInfo, int, error)
	AsUser(ctx context.Context, token, method, path string, body []byte) (localkube.Response, error)
}

var _ APIServer = (*localkube.Cluster)(nil)

// ClusterVerdict is what the real API server answered, never what we expect it to.
type ClusterVerdict struct {
	// Server names the API server: version and URL.
	Server string `json:"server"`
	// WhoAmI is the SelfSubjectReview's status: 201, or 401 when the token is refused.
	WhoAmI   int      `json:"whoamiStatus"`
	Username string   `json:"username,omitempty"`
	Groups   []string `json:"groups,omitempty"`
	// List is a namespaced list RBAC allows or forbids, and its answer.
	ListPath   string `json:"listPath"`
	ListStatus int    `json:"listStatus"`
	ListDetail string `json:"listDetail"`
	// Error says why the API server could not be asked; the other fields are then empty.
	Error string `json:"error,omitempty"`
}

// askAPIServer asks the API server who the token's user is and lists the pods of
// localkube.TeamNamespace as that user.
func (d *Dashboard) askAPIServer(ctx context.Context, token string) *ClusterVerdict {
	v := &ClusterVerdict{Server: d.APIServerName, ListPath: "/api/v1/namespaces/" + localkube.TeamNamespace + "/pods"}
	who, status, err := d.APIServer.WhoAmI(ctx, token)
	if err != nil {
		v.Error = err.Error()
		return v
	}
	v.WhoAmI, v.Username, v.Groups = status, who.Username, who.Groups
	resp, err := d.APIServer.AsUser(ctx, token, http.MethodGet, v.ListPath, nil)
	if err != nil {
		v.Error = err.Error()
		return v
	}
	v.ListStatus, v.ListDetail = resp.Status, listDetail(resp)
	return v
}

// listDetail summarises a list answer: how many items, or the API server's message.
func listDetail(resp localkube.Response) string {
	var body struct {
		Items   []json.RawMessage `json:"items"`
		Message string            `json:"message"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		return fmt.Sprintf("unreadable answer (%d bytes)", len(resp.Body))
	}
	if resp.Status == http.StatusOK {
		return fmt.Sprintf("%d pods", len(body.Items))
	}
	return body.Message
}
