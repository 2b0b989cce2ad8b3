package session

import (
	"context"
	"fmt"
)

// read fetches id's session from Redis and keeps it as this replica's fresh copy. Concurrent
// callers for one id share a single read: when a copy expires under load, every /auth of
// that session would otherwise ask Redis at once. The read is detached from the caller that
// started it (fetch bounds it by Timeout), so one caller giving up fails nobody else.
func (s *RedisStore) read(ctx context.Context, id string) (*Session, error) {
	ch := s.reads.DoChan(id, func() (any, error) {
		// A caller that missed the copy just before another read stored it joins after that
		// read ended and starts this one: the copy answers it, with no second Redis call.
		now := s.opts.Now()
		if cached, fresh := s.local.get(id, now); cached != nil && fresh {
			return cached, nil
		}
		sess, err := s.fetch(context.WithoutCancel(ctx), id)
		if err != nil {
			return nil, err
		}
		s.local.put(id, sess, now.Add(s.opts.CacheTTL))
		return sess, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		cp := *res.Val.(*Session) // every caller gets a copy it may change freely
		return &cp, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the session read: %w: %w", ErrStoreUnavailable, ctx.Err())
	}
}
