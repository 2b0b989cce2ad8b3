package idp

import (
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/secret"
)

// A token request that could not even connect is ErrNotSent (its refresh token certainly
// unspent); one that reached a server which then failed is not.
func TestRefreshNotSentOnlyWhenNothingLeft(t *testing.T) {
	f := newFixture(t, AuthClientSecretPost, clientSecret)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close() // nothing listens there any more: connection refused

	tests := []struct {
		name        string
		transport   http.RoundTripper
		wantNotSent bool
	}{
		{name: "connection refused", transport: redirectTo(closedAddr), wantNotSent: true},
		{name: "reached the provider", transport: http.DefaultTransport, wantNotSent: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.client.cfg.HTTPClient = &http.Client{Timeout: 2 * time.Second, Transport: tt.transport}
			_, err := f.client.Refresh(t.Context(), secret.String("not-a-refresh-token"), aksScope)
			if err == nil {
				t.Fatal("Refresh succeeded; want an error")
			}
			if got := errors.Is(err, ErrNotSent); got != tt.wantNotSent {
				t.Errorf("Refresh error %v: ErrNotSent = %v; want %v", err, got, tt.wantNotSent)
			}
		})
	}
}

// redirectTo sends every request to addr instead of its host.
type redirectTo string

func (a redirectTo) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Host = string(a)
	return http.DefaultTransport.RoundTrip(r)
}
