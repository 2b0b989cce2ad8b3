package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/secret"
)

// GraphGroups reads a user's groups with a Graph token; *idp.GraphClient satisfies it.
// Errors wrap idp.ErrGraphDenied (the token or the app registration lacks the permission),
// idp.ErrUnavailable (transient), or others.
type GraphGroups interface {
	MemberGroups(ctx context.Context, graphToken secret.String) ([]string, error)
}

var _ GraphGroups = (*idp.GraphClient)(nil)

const (
	// maxCachedGroupIDs bounds the resolver's memory: about 40 bytes an id, so ~40 MiB for
	// e.g. 4,000 sessions of 250 groups. An entry costs its ids plus one.
	maxCachedGroupIDs = 1 << 20
	// groupLookupTimeout bounds one shared lookup (Graph token refresh plus Graph call); the
	// lookup outlives the caller that started it, so others sharing it are not failed.
	groupLookupTimeout = 30 * time.Second
)

// GroupResolver finds the groups of sessions whose id_token carried Entra's groups overage
// claim instead of the groups (more than 200; ENTRA.md "Groups overage"), by asking
// Microsoft Graph. It is safe for concurrent use.
type GroupResolver struct {
	tokens *TokenCache
	graph  GraphGroups
	scope  string
	ttl    time.Duration
	now    func() time.Time
	flight singleflight.Group

	mu      sync.Mutex
	entries map[string]*groupsEntry // by session ID
	ids     int                     // cost of all entries, bounded by maxIDs
	maxIDs  int
	gen     uint64 // bumped by Forget: a lookup that started before must not store
}

// groupsEntry is one session's resolved groups. base is the session's refresh token when the
// lookup ran and newest the one after it (rotated by the Graph token refresh, or base).
type groupsEntry struct {
	groups       []string
	expires      time.Time
	base, newest secret.String
}

// NewGroupResolver resolves groups with a Graph token for scope (idp.GraphScope) obtained
// through tokens: the session's refresh token serves Graph too (ENTRA.md "multi-resource
// refresh token"). Results are cached per session ID for ttl (ttl <= 0: not cached) and
// dropped with the session's Graph token by Forget; concurrent lookups for one session share
// one call. now is the clock (nil: time.Now).
func NewGroupResolver(tokens *TokenCache, graph GraphGroups, scope string, ttl time.Duration, now func() time.Time) *GroupResolver {
	if now == nil {
		now = time.Now
	}
	return &GroupResolver{tokens: tokens, graph: graph, scope: scope, ttl: ttl, now: now,
		entries: make(map[string]*groupsEntry), maxIDs: maxCachedGroupIDs}
}

// Groups returns every group object id of sess's user. Call it for sessions with
// GroupsOverage; it asks Graph whatever the session holds.
//
// rotated is non-empty when the Graph token refresh rotated the session's refresh token and
// sess still holds the old one: the caller must save the session with it (Set-Cookie), as
// for TokenCache.Get. Errors wrap idp.ErrGraphDenied (missing permission: no retry helps),
// idp.ErrInvalidGrant (the session is over), idp.ErrUnavailable, or ctx's error.
func (r *GroupResolver) Groups(ctx context.Context, sess *Session) (groups []string, rotated secret.String, err error) {
	if sess.ID == "" {
		return nil, "", errNoID
	}
	if e := r.lookup(sess.ID); e != nil {
		return slices.Clone(e.groups), rotatedFor(sess, e), nil
	}
	ch := r.flight.DoChan(sess.ID, func() (any, error) { return r.resolve(ctx, sess) })
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, "", res.Err
		}
		e := res.Val.(*groupsEntry)
		return slices.Clone(e.groups), rotatedFor(sess, e), nil
	case <-ctx.Done():
		return nil, "", fmt.Errorf("wait for the groups of %s: %w", sess.Subject, ctx.Err())
	}
}

// Forget drops the session's cached groups and its Graph token, as on sign-out.
func (r *GroupResolver) Forget(sess *Session) {
	r.mu.Lock()
	r.gen++
	r.removeLocked(sess.ID)
	r.mu.Unlock()
	r.tokens.Forget(sess, r.scope)
}

// resolve gets a Graph token and asks Graph; it runs once per session at a time, detached
// from the caller that started it.
func (r *GroupResolver) resolve(ctx context.Context, sess *Session) (*groupsEntry, error) {
	// A caller that missed the cache just before another flight stored its entry joins
	// after that flight ended and starts this one: the entry answers it, with no Graph call.
	if e := r.lookup(sess.ID); e != nil {
		return e, nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), groupLookupTimeout)
	defer cancel()
	r.mu.Lock()
	gen := r.gen
	r.mu.Unlock()
	res, err := r.tokens.Get(ctx, sess, r.scope)
	if err != nil {
		return nil, fmt.Errorf("graph token for the groups of %s: %w", sess.Subject, err)
	}
	groups, err := r.graph.MemberGroups(ctx, res.Token.AccessToken)
	if err != nil {
		if errors.Is(err, idp.ErrGraphDenied) {
			// A cached Graph token Graph refuses (revoked, or issued before consent) must
			// not be reused until it expires.
			r.tokens.Forget(sess, r.scope)
		}
		return nil, fmt.Errorf("groups of %s: %w", sess.Subject, err)
	}
	e := &groupsEntry{groups: groups, expires: r.now().Add(r.ttl), base: sess.RefreshToken, newest: sess.RefreshToken}
	if !res.Token.RefreshToken.IsEmpty() {
		e.newest = res.Token.RefreshToken
	}
	r.store(sess.ID, gen, e)
	return e, nil
}

// rotatedFor is e's refresh token when sess still holds the one e's lookup started from.
func rotatedFor(sess *Session, e *groupsEntry) secret.String {
	if e.base == sess.RefreshToken && e.newest != sess.RefreshToken {
		return e.newest
	}
	return ""
}

func (r *GroupResolver) lookup(id string) *groupsEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.entries[id]
	if e != nil && !r.now().Before(e.expires) {
		r.removeLocked(id)
		return nil
	}
	return e
}

// store caches e unless a Forget happened since the lookup began or ttl disables caching,
// evicting expired entries and then arbitrary ones (map order) to stay within maxIDs.
func (r *GroupResolver) store(id string, gen uint64, e *groupsEntry) {
	cost := len(e.groups) + 1
	r.mu.Lock()
	defer r.mu.Unlock()
	if gen != r.gen || r.ttl <= 0 || cost > r.maxIDs {
		return
	}
	r.removeLocked(id)
	if r.ids+cost > r.maxIDs {
		now := r.now()
		for k, old := range r.entries {
			if !now.Before(old.expires) {
				r.removeLocked(k)
			}
		}
	}
	for k := range r.entries {
		if r.ids+cost <= r.maxIDs {
			break
		}
		r.removeLocked(k)
	}
	r.entries[id] = e
	r.ids += cost
}

func (r *GroupResolver) removeLocked(id string) {
	if e, ok := r.entries[id]; ok {
		r.ids -= len(e.groups) + 1
		delete(r.entries, id)
	}
}
