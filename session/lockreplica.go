package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

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
// its writes, asking for LockReplicas of them. Without LockReplicas it is script.Run and
// acked is 0.
func (s *RedisStore) runAcked(ctx context.Context, script *redis.Script, keys []string, args ...any) (res string, acked int64, err error) {
	if s.opts.LockReplicas <= 0 {
		res, err = script.Run(ctx, s.rdb, keys, args...).Text()
		return res, 0, err
	}
	cc, ok := s.rdb.(*redis.ClusterClient)
	if !ok {
		return s.evalWait(ctx, s.rdb, script, keys, args...)
	}
	// A cluster pipeline would send the keyless WAIT to any node: both go to the master of
	// the keys' slot. While the slot moves (MOVED, ASK, TRYAGAIN) the client reads the slot
	// map again, in the background, and the pair is sent again until ctx ends.
	for {
		node, err := cc.MasterForKey(ctx, keys[0])
		if err == nil {
			res, acked, err = s.evalWait(ctx, node, script, keys, args...)
			if err == nil || !slotMoving(err) {
				return res, acked, err
			}
		}
		cc.ReloadState(ctx)
		select {
		case <-ctx.Done():
			return "", 0, fmt.Errorf("the session's slot kept moving: %w", ctx.Err())
		case <-time.After(slotRetryPause):
		}
	}
}

// slotRetryPause paces the attempts on a slot that is moving to another master.
const slotRetryPause = 10 * time.Millisecond

// evalWait sends script and WAIT in one pipeline on one connection of node: WAIT counts the
// replicas that copied that connection's writes. The script goes as EVAL, whole, since a
// pipeline cannot fall back from EVALSHA; this is the rare path. WAIT gets what is left of
// ctx but a quarter of redis.timeout, so that its answer arrives before ctx ends: a replica on
// a busy node may take a while to acknowledge.
func (s *RedisStore) evalWait(ctx context.Context, node redis.Cmdable, script *redis.Script, keys []string, args ...any) (string, int64, error) {
	wait := s.opts.Timeout * 3 / 4
	if deadline, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(deadline)-s.opts.Timeout/4)
	}
	var eval, acks *redis.Cmd
	_, err := node.Pipelined(ctx, func(p redis.Pipeliner) error {
		eval = script.Eval(ctx, p, keys, args...)
		acks = p.Do(ctx, "wait", s.opts.LockReplicas, max(wait.Milliseconds(), 1))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", 0, err
	}
	res, err := eval.Text()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", 0, err
	}
	acked, err := acks.Int64()
	if err != nil {
		return "", 0, fmt.Errorf("wait for replicas: %w", err)
	}
	return res, acked, nil
}

// slotMoving reports whether err is Redis Cluster's answer for a slot on its way to another
// master: MOVED (it left), ASK (this key left), TRYAGAIN (some of the keys left).
func slotMoving(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "MOVED ") || strings.HasPrefix(msg, "ASK ") || strings.HasPrefix(msg, "TRYAGAIN")
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
	// The WAIT used up most of the call's time: the withdrawal gets its own. A flight left
	// recorded would count as abandoned in time and, with reuse detection, end the session.
	abortCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
	defer cancel()
	if err := abortScript.Run(abortCtx, s.rdb, s.keys.all(id), token, gen).Err(); err != nil {
		// Nothing was spent, but the flight stays recorded: like a replica that died during a
		// refresh, it counts as abandoned after 3 × LockTTL and the session ends then.
		s.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "could not withdraw an unreplicated refresh flight", slog.Any("error", err))
	}
	s.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "refresh postponed: the lock did not reach a replica, and a second redemption would revoke the sign-in", attrs...)
	return fmt.Errorf("%w: %w", ErrStoreUnavailable, errLockNotReplicated)
}
