package idp

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestProviderErrorThrottling(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name       string
		status     int
		code, desc string
		retryAfter string
		wantIs     error
		wantWait   time.Duration
		wantNoWait bool
	}{
		{name: "429 with seconds", status: 429, code: "temporarily_unavailable", desc: "AADSTS90055: too many", retryAfter: "7", wantIs: ErrThrottled, wantWait: 7 * time.Second},
		{name: "429 without Retry-After", status: 429, wantIs: ErrThrottled, wantNoWait: true},
		{name: "429 with a huge Retry-After is capped", status: 429, retryAfter: "86400", wantIs: ErrThrottled, wantWait: maxRetryAfter},
		{name: "429 with a date", status: 429, retryAfter: now.Add(90 * time.Second).Format(http.TimeFormat), wantIs: ErrThrottled},
		{name: "loop detection as a 400", status: 400, code: "invalid_grant", desc: "AADSTS50196: The server terminated an operation because it encountered a client request loop.", wantIs: ErrThrottled, wantWait: loopDetectedBackoff},
		{name: "tenant throttling as a 400", status: 400, code: "invalid_request", desc: "AADSTS90055: There are too many incoming requests.", wantIs: ErrThrottled, wantNoWait: true},
		{name: "revoked is still invalid_grant", status: 400, code: "invalid_grant", desc: "AADSTS50173: revoked", wantIs: ErrInvalidGrant, wantNoWait: true},
		{name: "503 is unavailable, not throttled", status: 503, code: "temporarily_unavailable", wantIs: ErrUnavailable, wantNoWait: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.retryAfter != "" {
				h.Set("Retry-After", tt.retryAfter)
			}
			err := error(newProviderError(tt.status, tokenErrorBody{Error: tt.code, Description: tt.desc}, h))
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
			if tt.wantIs == ErrThrottled && !errors.Is(err, ErrUnavailable) {
				t.Errorf("throttled error %v is not ErrUnavailable; a valid token would not be served", err)
			}
			if errors.Is(tt.wantIs, ErrThrottled) == false && errors.Is(err, ErrThrottled) {
				t.Errorf("error %v is ErrThrottled; want not", err)
			}
			wait, ok := RetryAfter(err)
			switch {
			case tt.wantNoWait && ok:
				t.Errorf("RetryAfter = %v; want none", wait)
			case tt.wantWait > 0 && wait != tt.wantWait:
				t.Errorf("RetryAfter = %v, %v; want %v", wait, ok, tt.wantWait)
			case !tt.wantNoWait && !ok:
				t.Errorf("RetryAfter = none; want a wait")
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name, in string
		want     time.Duration
	}{
		{name: "seconds", in: "120", want: 2 * time.Minute},
		{name: "date", in: now.Add(time.Minute).Format(http.TimeFormat), want: time.Minute},
		{name: "past date", in: now.Add(-time.Minute).Format(http.TimeFormat), want: 0},
		{name: "garbage", in: "soon", want: 0},
		{name: "negative", in: "-5", want: 0},
		{name: "empty", in: "", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRetryAfter(tt.in, now); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %v; want %v", tt.in, got, tt.want)
			}
		})
	}
}
