package session

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/redis/go-redis/v9"
)

// Clear ends the session r's cookie names: it deletes every key of it in Redis (the
// session, its tokens, its refresh state and lock, and its entries in the indexes), so the
// cookie stops working on every replica within CacheTTL, and deletes the cookie. A refresh
// in flight finds the session gone and stores nothing. A Redis failure is logged: the
// browser's cookie is deleted all the same.
func (s *RedisStore) Clear(w http.ResponseWriter, r *http.Request) {
	if id, err := s.idFrom(r); err == nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.opts.Timeout)
		if err := s.deleteAll(ctx, id); err != nil {
			s.opts.Logger.LogAttrs(ctx, slog.LevelError, "could not delete the session in redis; it stays valid until it expires",
				slog.Any("error", err))
		}
		cancel()
	}
	s.cookies.Clear(w, r)
}

// deleteAll deletes every key of session id. The sid index lives in another slot, so it is
// named apart, from the session's sid as read before the delete.
func (s *RedisStore) deleteAll(ctx context.Context, id string) error {
	sid := ""
	if cached, _ := s.local.get(id, s.opts.Now()); cached != nil {
		sid = cached.SID
	} else if stored, err := s.fetch(ctx, id); err == nil {
		sid = stored.SID
	}
	s.local.drop(id)
	s.pending.drop(id, s.pending.get(id))
	if err := s.rdb.Del(ctx, s.keys.all(id)...).Err(); err != nil {
		return fmt.Errorf("delete session: %w: %w", ErrStoreUnavailable, err)
	}
	return s.unindex(ctx, id, sid)
}

// unindex removes an ended session from the indexes, which live in other hash slots: the
// active-sessions gauge and, when sid is known, its sid's set (deleted by Redis once empty).
func (s *RedisStore) unindex(ctx context.Context, id, sid string) error {
	hash := s.keys.hash(id)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, s.keys.active(), hash)
		if sid != "" {
			p.SRem(ctx, s.keys.sid(sid), hash)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("unindex session: %w: %w", ErrStoreUnavailable, err)
	}
	return nil
}
