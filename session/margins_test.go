package session

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/redistest"
	"github.com/tokengate/tokengate/internal/secret"
)

func TestMarginsFor(t *testing.T) {
	c := &TokenCache{opts: CacheOptions{SafetyMargin: time.Minute, RefreshAhead: 5 * time.Minute}}
	tests := []struct {
		name     string
		lifetime time.Duration
		want     margins
	}{
		{name: "Entra hour", lifetime: time.Hour, want: margins{safety: time.Minute, ahead: 5 * time.Minute}},
		{name: "exactly twice the margins", lifetime: 12 * time.Minute, want: margins{safety: time.Minute, ahead: 5 * time.Minute}},
		{name: "just under twice", lifetime: 11 * time.Minute, want: margins{safety: time.Minute, ahead: 11 * time.Minute / 3}},
		{name: "60 seconds", lifetime: time.Minute, want: margins{safety: 10 * time.Second, ahead: 20 * time.Second}},
		{name: "unknown", lifetime: 0, want: margins{safety: time.Minute, ahead: 5 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.marginsFor(tt.lifetime); got != tt.want {
				t.Errorf("marginsFor(%v) = %+v; want %+v", tt.lifetime, got, tt.want)
			}
		})
	}
}

// With 60-second tokens and the default margins (60s + 5m), every request used to refresh.
// Scaled margins serve each token for half its life and refresh it once ahead: over ten
// minutes of one request a second, about one refresh per 30 seconds, with either store, and
// one warning saying what was done.
func TestShortLifetimeNoRefreshStorm(t *testing.T) {
	tests := []struct {
		name   string
		shared bool
	}{
		{name: "cookie store"},
		{name: "redis store", shared: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			// Call n answers "at-n"/"rt-n" valid for one minute, as a provider with a short
			// access-token lifetime policy does.
			r := newFakeRefresher(func(n int, _ secret.String) (idp.Token, error) {
				return idp.Token{AccessToken: secret.String(fmt.Sprintf("at-%d", n+1)),
					RefreshToken: secret.String(fmt.Sprintf("rt-%d", n+1)), Expiry: clock.Now().Add(time.Minute)}, nil
			})
			var logs bytes.Buffer
			opts := CacheOptions{
				SafetyMargin: time.Minute, RefreshAhead: 5 * time.Minute, MaxBytes: 1 << 20,
				RefreshTimeout: testTimeout, Now: clock.Now,
				Logger: slog.New(slog.NewTextHandler(&logs, nil)), SharedPoll: 5 * time.Millisecond,
			}
			sess := seededSession(clock)
			if tt.shared {
				store := newRedisStore(t, redistest.Start(t), clock)
				sess = redisSession(t, clock.Now())
				sess.RefreshToken = "rt-seed"
				saveTo(t, store, sess)
				opts.Shared = store
			}
			c, err := NewTokenCache(r, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			c.Seed(sess, testScope, idp.Token{AccessToken: "at-seed", RefreshToken: "rt-seed", Expiry: clock.Now().Add(time.Minute)})
			for range 600 {
				clock.Advance(time.Second)
				res, err := c.Get(t.Context(), sess, testScope)
				if err != nil {
					t.Fatalf("Get at %v: %v", clock.Now(), err)
				}
				if !res.Token.RefreshToken.IsEmpty() {
					sess.RefreshToken = res.Token.RefreshToken // the handler saves the cookie
				}
				c.work.Wait() // let a background refresh land before the clock moves on
			}
			// 600 s / 30 s of freshness = 20; a storm would be ~600.
			if n := len(r.Calls()); n < 15 || n > 22 {
				t.Errorf("%d refreshes in 10 minutes of 60-second tokens; want about 20", n)
			}
			if n := strings.Count(logs.String(), "token lifetime is short"); n != 1 {
				t.Errorf("short-lifetime warning logged %d times; want once:\n%s", n, logs.String())
			}
			for _, want := range []string{"used_safety_margin=10s", "used_refresh_ahead=20s", "token.safetyMargin"} {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("warning lacks %q:\n%s", want, logs.String())
				}
			}
		})
	}
}
