package handlers

import (
	"testing"
	"time"
)

// TestRecentRedirects: a session is redirected for its re-sealed cookie at most once a
// minute, and a full memory forgets old entries first, then everything, never growing.
func TestRecentRedirects(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var r recentRedirects
	steps := []struct {
		id   string
		at   time.Duration
		want bool
	}{
		{"a", 0, true},
		{"a", 30 * time.Second, false},
		{"b", 30 * time.Second, true},
		{"a", resealRedirectEvery, true},
		{"a", resealRedirectEvery + time.Second, false},
	}
	for _, s := range steps {
		if got := r.first(s.id, t0.Add(s.at)); got != s.want {
			t.Errorf("first(%q, +%s) = %v; want %v", s.id, s.at, got, s.want)
		}
	}
	for i := range resealRedirectsMax + 10 {
		r.first(string(rune(i+1000)), t0.Add(2*resealRedirectEvery))
	}
	if n := len(r.last); n > resealRedirectsMax {
		t.Errorf("%d sessions remembered; want at most %d", n, resealRedirectsMax)
	}
}
