package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/secret"
)

// countingRefresher answers every call with err (nil: a token) and counts the calls.
type countingRefresher struct {
	calls int
	err   error
}

func (c *countingRefresher) Refresh(context.Context, secret.String, string) (idp.Token, error) {
	c.calls++
	return idp.Token{AccessToken: "at"}, c.err
}

// throttledBy is a provider answer asking for wait (0: without Retry-After).
type throttledBy time.Duration

func (t throttledBy) Error() string             { return "token endpoint answered 429" }
func (t throttledBy) Unwrap() error             { return idp.ErrThrottled }
func (t throttledBy) RetryAfter() time.Duration { return time.Duration(t) }

func TestLimitedRefresher(t *testing.T) {
	type call struct {
		rt         string
		advance    time.Duration
		wantReason string // "" admitted
	}
	tests := []struct {
		name     string
		rate     float64
		burst    int
		provider error
		calls    []call
	}{
		{name: "burst then rate", rate: 1, burst: 2, calls: []call{
			{rt: "a"}, {rt: "b"}, {rt: "c", wantReason: "rate"},
			{rt: "c", advance: time.Second}, {rt: "d", wantReason: "rate"},
		}},
		{name: "one session cannot repeat ahead of others", rate: 100, burst: 100, calls: []call{
			{rt: "a"}, {rt: "a", wantReason: "repeat"}, {rt: "b"},
			{rt: "a", advance: 9 * time.Second, wantReason: "repeat"}, {rt: "a", advance: time.Second},
		}},
		{name: "provider Retry-After pauses every call", rate: 100, burst: 100, provider: throttledBy(30 * time.Second), calls: []call{
			{rt: "a"}, {rt: "b", wantReason: "provider"}, {rt: "c", advance: 29 * time.Second, wantReason: "provider"},
			{rt: "c", advance: time.Second},
		}},
		{name: "throttling without Retry-After pauses 5s", rate: 100, burst: 100, provider: throttledBy(0), calls: []call{
			{rt: "a"}, {rt: "b", advance: 4 * time.Second, wantReason: "provider"}, {rt: "b", advance: time.Second},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			next := &countingRefresher{err: tt.provider}
			l, err := NewLimitedRefresher(next, LimitOptions{Rate: tt.rate, Burst: tt.burst, Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range tt.calls {
				clock.Advance(c.advance)
				before := next.calls
				_, err := l.Refresh(t.Context(), secret.String(c.rt), testScope)
				var te *ThrottledError
				switch {
				case c.wantReason == "" && next.calls != before+1:
					t.Errorf("call %d (%s): not admitted (%v); want a provider call", i, c.rt, err)
				case c.wantReason != "" && (!errors.As(err, &te) || te.Reason != c.wantReason):
					t.Errorf("call %d (%s): error %v; want held back for %q", i, c.rt, err, c.wantReason)
				case c.wantReason != "" && next.calls != before:
					t.Errorf("call %d (%s): reached the provider; want held back", i, c.rt)
				case c.wantReason != "" && (!errors.Is(err, idp.ErrUnavailable) || te.Wait <= 0):
					t.Errorf("call %d (%s): %v (wait %v); want idp.ErrUnavailable with a wait", i, c.rt, err, te.Wait)
				}
			}
		})
	}
}

// A limited call never waits: thousands over the limit return at once.
func TestLimitedRefresherNeverQueues(t *testing.T) {
	clock := newTestClock()
	next := &countingRefresher{}
	l, err := NewLimitedRefresher(next, LimitOptions{Rate: 1, Burst: 1, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := range 10000 {
		_, _ = l.Refresh(t.Context(), secret.String(rune('a'+i%26)), testScope)
	}
	if next.calls != 1 {
		t.Errorf("%d provider calls; want 1", next.calls)
	}
	if s := l.Stats(); s.Rejected != 9999 || s.Admitted != 1 {
		t.Errorf("stats %+v; want 1 admitted, 9999 rejected", s)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("10 000 refused calls took %v; a queue would", d)
	}
}
