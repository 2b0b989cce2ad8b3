package idp

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// DefaultClockSkew is how far in the future an iat or nbf may lie when no skew is
// configured: clocks of Kubernetes nodes and of the provider disagree by seconds, never by
// minutes.
const DefaultClockSkew = 2 * time.Minute

// errTimeClaim is wrapped by every refusal of CheckTimeClaims.
var errTimeClaim = errors.New("time claim refused")

// TimeClaims are a JWT's registered time claims, read strictly: each one present is a JSON
// number (RFC 7519 §2 NumericDate). go-oidc reads them through json.Number, which also
// takes a quoted number, and a claim it cannot read it treats as absent.
type TimeClaims struct {
	Expiry, IssuedAt, NotBefore time.Time // zero when absent
}

// ReadTimeClaims reads exp, iat and nbf from a JWT payload. A claim that is present but
// not a finite JSON number (a string, null, a boolean, an object) is an error naming it.
func ReadTimeClaims(payload []byte) (TimeClaims, error) {
	var raw struct {
		Exp json.RawMessage `json:"exp"`
		Iat json.RawMessage `json:"iat"`
		Nbf json.RawMessage `json:"nbf"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return TimeClaims{}, fmt.Errorf("%w: the payload is not a JSON object", errTimeClaim)
	}
	var tc TimeClaims
	for _, c := range []struct {
		name string
		raw  json.RawMessage
		dst  *time.Time
	}{{"exp", raw.Exp, &tc.Expiry}, {"iat", raw.Iat, &tc.IssuedAt}, {"nbf", raw.Nbf, &tc.NotBefore}} {
		if c.raw == nil {
			continue
		}
		t, err := numericDate(c.raw)
		if err != nil {
			return TimeClaims{}, fmt.Errorf("%w: %s %v", errTimeClaim, c.name, err)
		}
		*c.dst = t
	}
	return tc, nil
}

// numericDate reads a JSON number of seconds since the epoch. The bound (year 2286) keeps
// the arithmetic of callers far from overflow.
func numericDate(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return time.Time{}, errors.New("is not a JSON number")
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 1e10 {
		return time.Time{}, errors.New("is not a number of seconds between 1970 and 2286")
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

// Check applies the time rules of OIDC Core §3.1.3.7 (items 9 and 10) with skew for clocks
// that disagree: exp present when required and in the past refused; iat and nbf no further
// in the future than skew. go-oidc checks exp and nbf but not iat.
func (tc TimeClaims) Check(now time.Time, skew time.Duration, requireExpIat bool) error {
	switch {
	case requireExpIat && tc.Expiry.IsZero():
		return fmt.Errorf("%w: exp is missing", errTimeClaim)
	case requireExpIat && tc.IssuedAt.IsZero():
		return fmt.Errorf("%w: iat is missing", errTimeClaim)
	case !tc.Expiry.IsZero() && !now.Before(tc.Expiry):
		return fmt.Errorf("%w: expired at %s", errTimeClaim, tc.Expiry.Format(time.RFC3339))
	case tc.IssuedAt.After(now.Add(skew)):
		return fmt.Errorf("%w: iat %s is more than %v in the future", errTimeClaim, tc.IssuedAt.Format(time.RFC3339), skew)
	case tc.NotBefore.After(now.Add(skew)):
		return fmt.Errorf("%w: not valid before %s", errTimeClaim, tc.NotBefore.Format(time.RFC3339))
	}
	return nil
}

// checkAudience applies OIDC Core §3.1.3.7 items 3 to 5 to an id_token: the client id
// among the audiences; with several audiences every one trusted and azp present; and an
// azp, when present, equal to the client id. trusted lists the audiences besides the
// client id that may share a token with it.
func checkAudience(aud []string, azp, clientID string, trusted []string) error {
	switch {
	case !slices.Contains(aud, clientID):
		return fmt.Errorf("audience %.200q does not include the client id", aud)
	case len(aud) > 1 && azp == "":
		return fmt.Errorf("%d audiences and no azp claim", len(aud))
	case azp != "" && azp != clientID:
		return fmt.Errorf("azp %.100q is not the client id", azp)
	}
	for _, a := range aud {
		if a != clientID && !slices.Contains(trusted, a) {
			return fmt.Errorf("audience %.100q is not trusted (provider.trustedAudiences)", a)
		}
	}
	return nil
}
