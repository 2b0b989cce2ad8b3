package session

import (
	"net/http/httptest"
	"testing"
)

// A rotation written from an /auth answer must be a single cookie: ingress-nginx relays only
// the first Set-Cookie of an auth answer.
func TestSaveRotatedWritesOnlySingleCookies(t *testing.T) {
	clock := newTestClock()
	store := newTestStore(t, clock)
	tests := []struct {
		name      string
		sess      *Session
		wantSaved bool
	}{
		{name: "fits in one cookie", sess: testSession(clock.Now()), wantSaved: true},
		{name: "needs chunks", sess: bigSession(clock.Now()), wantSaved: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			saved, err := store.SaveRotated(w, requestWith(), tc.sess)
			if err != nil {
				t.Fatal(err)
			}
			cookies := w.Result().Cookies()
			if saved != tc.wantSaved || (saved && len(cookies) != 1) || (!saved && len(cookies) != 0) {
				t.Errorf("saved = %v with %d cookies; want saved %v and exactly one cookie or none", saved, len(cookies), tc.wantSaved)
			}
		})
	}
}
