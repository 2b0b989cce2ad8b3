package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/dashboards"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/secret"
	"github.com/tokengate/tokengate/session"
)

// fakeGroups answers Groups with fixed values and counts the calls.
type fakeGroups struct {
	groups  []string
	rotated secret.String
	err     error
	calls   int
}

func (f *fakeGroups) Groups(context.Context, *session.Session) ([]string, secret.String, error) {
	f.calls++
	return f.groups, f.rotated, f.err
}

func (f *fakeGroups) Forget(*session.Session) {}

// groupsProfile is a dashboard that admits the members of g-ops and looks up the groups of
// overage users in Microsoft Graph.
func groupsProfile(t *testing.T) *dashboards.Profile {
	t.Helper()
	cfg := config.Defaults()
	cfg.Dashboards = []config.Dashboard{{Name: "ops", Hosts: []string{"ops.example.com"},
		AllowedGroups: []string{"g-ops"}, GraphGroupLookup: true}}
	set, err := dashboards.New(&cfg)
	if err != nil {
		t.Fatalf("dashboards: %v", err)
	}
	p, _ := set.Match("ops.example.com")
	return p
}

// admission is the decision /auth and the debug page share: the first decision stands unless
// it needs Graph; Graph's groups decide again and its rotated refresh token comes back.
func TestAdmission(t *testing.T) {
	p := groupsProfile(t)
	member := &dashboards.User{OID: "oid-m", Groups: []string{"g-ops"}}
	stranger := &dashboards.User{OID: "oid-s", Groups: []string{"g-dev"}}
	overage := &dashboards.User{OID: "oid-o", GroupsOverage: true}
	graphDown := fmt.Errorf("graph: %w", idp.ErrGraphDenied)
	tests := []struct {
		name        string
		user        *dashboards.User
		groups      *fakeGroups // nil: no GroupResolver configured
		wantAllowed bool
		wantReason  string
		wantRotated secret.String
		wantErr     error
		wantCalls   int
	}{
		{name: "member, no Graph call", user: member, groups: &fakeGroups{}, wantAllowed: true},
		{name: "stranger, no Graph call", user: stranger, groups: &fakeGroups{}, wantReason: "ops requires"},
		{name: "overage member by Graph", user: overage, groups: &fakeGroups{groups: []string{"g-ops"}, rotated: "rt-2"}, wantAllowed: true, wantRotated: "rt-2", wantCalls: 1},
		{name: "overage stranger by Graph", user: overage, groups: &fakeGroups{groups: []string{"g-dev"}, rotated: "rt-2"}, wantReason: "ops requires", wantRotated: "rt-2", wantCalls: 1},
		{name: "overage, Graph refuses", user: overage, groups: &fakeGroups{err: graphDown, rotated: "rt-2"}, wantErr: idp.ErrGraphDenied, wantCalls: 1},
		{name: "overage without a GroupResolver", user: overage, wantReason: "not configured"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &server{}
			if tc.groups != nil {
				s.Groups = tc.groups
			}
			sess := &session.Session{Subject: tc.user.OID, RefreshToken: "rt-1"}
			d, rotated, err := s.admission(context.Background(), p, sess, tc.user, p.Admit(tc.user))
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v; want %v", err, tc.wantErr)
			}
			if d.Allowed != tc.wantAllowed || !strings.Contains(d.Reason, tc.wantReason) {
				t.Errorf("decision = %+v; want allowed %v, reason containing %q", d, tc.wantAllowed, tc.wantReason)
			}
			if rotated != tc.wantRotated {
				t.Errorf("rotated = %q; want %q", rotated.Reveal(), tc.wantRotated.Reveal())
			}
			if tc.groups != nil && tc.groups.calls != tc.wantCalls {
				t.Errorf("Graph calls = %d; want %d", tc.groups.calls, tc.wantCalls)
			}
		})
	}
}

// recordingStore records which of the store's writes saveRotated chose.
type recordingStore struct {
	SessionStore // any other method is a test bug: it panics
	saved        []string
	savedRT      secret.String
}

func (r *recordingStore) Save(_ http.ResponseWriter, _ *http.Request, s *session.Session) error {
	r.saved, r.savedRT = append(r.saved, "Save"), s.RefreshToken
	return nil
}

func (r *recordingStore) SaveRotated(_ http.ResponseWriter, _ *http.Request, s *session.Session) (bool, error) {
	r.saved, r.savedRT = append(r.saved, "SaveRotated"), s.RefreshToken
	return true, nil
}

// saveRotated writes only a refresh token that changed, picks the store's write by whether
// every Set-Cookie reaches the browser, and never changes the session it was given, which
// the cookie store shares between requests.
func TestSaveRotated(t *testing.T) {
	tests := []struct {
		name      string
		rt        secret.String
		whole     bool
		wantSaved string // "": nothing written
		wantRT    secret.String
	}{
		{name: "no rotation", rt: "", whole: true, wantRT: "rt-1"},
		{name: "same token", rt: "rt-1", whole: true, wantRT: "rt-1"},
		{name: "rotated, every cookie relayed", rt: "rt-2", whole: true, wantSaved: "Save", wantRT: "rt-2"},
		{name: "rotated, ingress-nginx", rt: "rt-2", whole: false, wantSaved: "SaveRotated", wantRT: "rt-2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := &recordingStore{}
			s := &server{Deps: Deps{Sessions: store, Logger: slog.New(slog.DiscardHandler)}}
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			c.Request = httptest.NewRequest(http.MethodGet, "/auth", nil)
			sess := &session.Session{ID: "id", RefreshToken: "rt-1"}
			got := s.saveRotated(c, sess, tc.rt, tc.whole)
			if sess.RefreshToken != "rt-1" {
				t.Errorf("the given session now carries %q; want it unchanged", sess.RefreshToken.Reveal())
			}
			if got.RefreshToken != tc.wantRT {
				t.Errorf("returned session carries %q; want %q", got.RefreshToken.Reveal(), tc.wantRT.Reveal())
			}
			var want []string
			if tc.wantSaved != "" {
				want = []string{tc.wantSaved}
			}
			if !slices.Equal(store.saved, want) || (want != nil && store.savedRT != tc.wantRT) {
				t.Errorf("writes = %v with %q; want %v with %q", store.saved, store.savedRT.Reveal(), want, tc.wantRT.Reveal())
			}
		})
	}
}
