package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"
)

// A refresh flight recorded on a master that dies before its replica copied it would be
// lost in the failover: the promoted replica would grant a second flight for the same
// refresh token. With RedisOptions.LockReplicas the flight is recorded with WAIT on the same
// connection, so the refresh token is presented only once that many replicas hold the
// flight. A WAIT that times out means a replica lags (or none is connected):
//   - with reuse detection the flight is withdrawn before anything is spent and the caller
//     sees the store as unavailable (a still-valid token is served, else 503), because a
//     second redemption would revoke the user's sign-in;
//   - without it (Entra keeps a redeemed refresh token valid) the refresh goes ahead, and a
//     warning says that a failover now could let one other replica refresh too.

// runAcked runs script and reports its result with the number of replicas that acknowledged
// its writes, asking for LockReplicas of them within half of redis.timeout. Without
// LockReplicas it is script.Run and acked is 0.
func (s *RedisStore) runAcked(ctx context.Context, script *redis.Script, keys []string, args ...any) (res string, acked int64, err error) {
	if s.opts.LockReplicas <= 0 {
		res, err = script.Run(ctx, s.rdb, keys, args...).Text()
		return res, 0, err
	}
	for attempt := 0; ; attempt++ {
		res, acked, err = s.evalWait(ctx, script, keys, args...)
		if err == nil || attempt > 0 || !movedSlot(err) {
			return res, acked, err
		}
		// The slot moved since the client's last look: read the slot map and go again.
		if cc, ok := s.rdb.(*redis.ClusterClient); ok {
			cc.ReloadState(ctx)
		}
	}
}

// evalWait sends script and WAIT in one pipeline on one connection to the master that holds
// keys: WAIT counts the replicas that copied that connection's writes. The script goes as
// EVAL, whole, since a pipeline cannot fall back from EVALSHA; this is the rare path.
func (s *RedisStore) evalWait(ctx context.Context, script *redis.Script, keys []string, args ...any) (string, int64, error) {
	var node redis.Cmdable = s.rdb
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		// A cluster pipeline would send the keyless WAIT to any node.
		master, err := cc.MasterForKey(ctx, keys[0])
		if err != nil {
			return "", 0, fmt.Errorf("find the master of the session's slot: %w", err)
		}
		node = master
	}
	var eval *redis.Cmd
	var wait *redis.Cmd
	_, err := node.Pipelined(ctx, func(p redis.Pipeliner) error {
		eval = script.Eval(ctx, p, keys, args...)
		wait = p.Do(ctx, "wait", s.opts.LockReplicas, (s.opts.Timeout / 2).Milliseconds())
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", 0, err
	}
	res, err := eval.Text()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", 0, err
	}
	acked, err := wait.Int64()
	if err != nil {
		return "", 0, fmt.Errorf("wait for replicas: %w", err)
	}
	return res, acked, nil
}

// movedSlot reports whether err is Redis Cluster's redirection of a slot to another node.
func movedSlot(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "MOVED ") || strings.HasPrefix(msg, "ASK ")
}

// errLockNotReplicated means the refresh flight did not reach enough replicas in time.
var errLockNotReplicated = errors.New("the refresh lock did not reach a Redis replica in time")

// lockReplicated judges a flight that acked replicas hold (see the comment at the top). It
// returns an error wrapping ErrStoreUnavailable when the flight was withdrawn.
func (s *RedisStore) lockReplicated(ctx context.Context, id, token string, gen, acked int64) error {
	if acked >= int64(s.opts.LockReplicas) {
		return nil
	}
	attrs := []slog.Attr{slog.Int64("replicas_acknowledged", acked), slog.Int("redis_lock_replicas", s.opts.LockReplicas)}
	if !s.opts.ReuseDetection {
		s.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "refreshing with a lock not yet on a replica; a failover now could let one other replica refresh too", attrs...)
		return nil
	}
	if err := abortScript.Run(ctx, s.rdb, s.keys.all(id), token, gen).Err(); err != nil {
		// The lock lapses and the flight counts as abandoned in time; nothing was spent.
		s.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "could not withdraw an unreplicated refresh flight", slog.Any("error", err))
	}
	s.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "refresh postponed: the lock did not reach a replica, and a second redemption would revoke the sign-in", attrs...)
	return fmt.Errorf("%w: %w", ErrStoreUnavailable, errLockNotReplicated)
}
