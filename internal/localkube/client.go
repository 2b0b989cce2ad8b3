package localkube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxBody bounds what is read of an API server answer.
const maxBody = 4 << 20

// UserInfo is who the API server says a token belongs to (SelfSubjectReview's status).
type UserInfo struct {
	Username string              `json:"username"`
	UID      string              `json:"uid"`
	Groups   []string            `json:"groups"`
	Extra    map[string][]string `json:"extra"`
}

// Response is an API server answer.
type Response struct {
	Status int
	Body   []byte
}

// AsUser sends a request with "Authorization: Bearer <token>" and no client certificate,
// as a dashboard does with the header tokengate gave it. An empty token sends none.
func (c *Cluster) AsUser(ctx context.Context, token, method, path string, body []byte) (Response, error) {
	return c.do(ctx, c.user, token, method, path, "application/json", body)
}

// AsAdmin sends a request with the system:masters client certificate.
func (c *Cluster) AsAdmin(ctx context.Context, method, path, contentType string, body []byte) (Response, error) {
	return c.do(ctx, c.Admin, "", method, path, contentType, body)
}

// WhoAmI is `kubectl auth whoami`: a SelfSubjectReview as the token's user. A token the API
// server refuses gives its status (401) with an empty UserInfo and no error.
func (c *Cluster) WhoAmI(ctx context.Context, token string) (UserInfo, int, error) {
	body := []byte(`{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`)
	resp, err := c.AsUser(ctx, token, http.MethodPost, "/apis/authentication.k8s.io/v1/selfsubjectreviews", body)
	if err != nil || resp.Status != http.StatusCreated {
		return UserInfo{}, resp.Status, err
	}
	var review struct {
		Status struct {
			UserInfo UserInfo `json:"userInfo"`
		} `json:"status"`
	}
	if err := json.Unmarshal(resp.Body, &review); err != nil {
		return UserInfo{}, resp.Status, fmt.Errorf("decode SelfSubjectReview: %w", err)
	}
	return review.Status.UserInfo, resp.Status, nil
}

// WaitAccepted waits until the API server accepts token, bounded by timeout. A JWT
// authenticator fetches its issuer's discovery and keys in the background after start, and
// refuses every token of that issuer with 401 until then; judging a token before a control
// token is accepted would blame the token for the authenticator's start-up.
func (c *Cluster) WaitAccepted(ctx context.Context, token string, timeout time.Duration) (UserInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		u, status, err := c.WhoAmI(ctx, token)
		if err == nil && status == http.StatusCreated {
			return u, nil
		}
		select {
		case <-ctx.Done():
			return UserInfo{}, fmt.Errorf("control token still refused after %s (last status %d, %v): %w", timeout, status, err, ctx.Err())
		case <-tick.C:
		}
	}
}

func (c *Cluster) do(ctx context.Context, client *http.Client, token, method, path, contentType string, body []byte) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, bytes.NewReader(body))
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return Response{Status: resp.StatusCode}, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	return Response{Status: resp.StatusCode, Body: b}, nil
}
