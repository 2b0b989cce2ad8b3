package session

import (
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/secret"
	"github.com/tokengate/tokengate/internal/testfix"
)

// testClock is the shared settable clock; tests move it instead of sleeping. The alias keeps
// the many helpers of this package that take a *testClock unchanged.
type testClock = testfix.Clock

func newTestClock() *testClock {
	return testfix.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
}

// testKey returns a 32-byte key filled with b.
func testKey(b byte) []byte {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = b
	}
	return k
}

// groupIDs returns n distinct canonical GUIDs, like Entra group object ids.
func groupIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-1c2d-4e5f-8a9b-%012x", i*7919, i*104729)
	}
	return ids
}

// testSession is a full session that ends 8 hours after now.
func testSession(now time.Time) *Session {
	return &Session{
		ID:                "q7Lx0l3Qb1jXb0f2e1S8_w",
		Subject:           "9f1b7c4e-2a3d-4b5c-8d6e-7f8091a2b3c4",
		TenantID:          "72f988bf-86f1-41af-91ab-2d7cd011db47",
		Issuer:            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
		Name:              "Ada Lovelace",
		PreferredUsername: "ada@example.com",
		Email:             "ada@example.com",
		Groups:            groupIDs(3),
		SID:               "00a1b2c3-d4e5-f6a7-b8c9-d0e1f2a3b4c5",
		RefreshToken:      secret.String("0.AXoA-refresh-token-value"),
		CreatedAt:         now,
		ExpiresAt:         now.Add(8 * time.Hour),
	}
}

func TestNewID(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		id, err := NewID()
		if err != nil {
			t.Fatalf("NewID: %v", err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil || len(raw) != idBytes {
			t.Fatalf("NewID() = %q; want %d bytes of unpadded base64url (err %v)", id, idBytes, err)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestSessionExpired(t *testing.T) {
	end := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &Session{ExpiresAt: end}
	tests := []struct {
		name string
		now  time.Time
		want bool
	}{
		{name: "before", now: end.Add(-time.Nanosecond), want: false},
		{name: "at the end", now: end, want: true},
		{name: "after", now: end.Add(time.Hour), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Expired(tt.now); got != tt.want {
				t.Errorf("Expired(%v) = %v; want %v", tt.now, got, tt.want)
			}
		})
	}
}
