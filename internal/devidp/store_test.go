package devidp

import (
	"testing"
	"time"
)

// Pruning scans every code and refresh token, so it runs at most once per pruneEvery; what
// it drops is still only what is past its retention.
func TestPruneIsSpaced(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	p := &Provider{codes: map[string]*codeGrant{}, refreshTokens: map[string]*refreshGrant{}}
	dead := now.Add(-retention - time.Second)
	p.codes["old"] = &codeGrant{expires: dead}
	p.refreshTokens["old"] = &refreshGrant{expires: dead}
	p.refreshTokens["live"] = &refreshGrant{expires: now.Add(time.Hour)}

	p.pruneLocked(now)
	if len(p.codes) != 0 || len(p.refreshTokens) != 1 || p.refreshTokens["live"] == nil {
		t.Fatalf("after the first prune: %d codes, refresh tokens %v; want 0 and only live", len(p.codes), p.refreshTokens)
	}
	p.codes["old2"] = &codeGrant{expires: dead}
	p.pruneLocked(now.Add(pruneEvery - time.Second))
	if len(p.codes) != 1 {
		t.Errorf("a second prune within %v ran; want it skipped", pruneEvery)
	}
	p.pruneLocked(now.Add(pruneEvery))
	if len(p.codes) != 0 {
		t.Errorf("the prune after %v kept %d dead codes; want 0", pruneEvery, len(p.codes))
	}
}
