package session

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
)

// A session too large to keep is refused with ErrTooLarge, so that the sign-in answers a 4xx
// naming the cause instead of a 500: the provider sent more groups than cookies can carry.
func TestSaveTooLargeSession(t *testing.T) {
	clock := newTestClock()
	store := newTestStore(t, clock)
	sess := testSession(clock.Now())
	sess.Groups = nil
	for i := range 5000 {
		sess.Groups = append(sess.Groups, fmt.Sprintf("%08d-0000-4000-8000-000000000000", i))
	}
	err := store.Save(httptest.NewRecorder(), requestWith(), sess)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Save of a session with 5000 groups = %v; want ErrTooLarge", err)
	}
}
