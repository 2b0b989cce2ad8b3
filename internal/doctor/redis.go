package doctor

import (
	"fmt"

	"github.com/tokengate/tokengate/internal/config"
)

// checkRedisLock warns when a Redis topology with failover (Sentinel or Cluster) may lose a
// refresh lock: without redis.lockReplicas a lock only on a master that dies lets a second
// replica of tokengate redeem the same refresh token. Nothing to say for the cookie store or
// one server.
func checkRedisLock(cfg *config.Config) []Result {
	r := &cfg.Redis
	if cfg.Session.Store != config.StoreRedis || (r.MasterName == "" && len(r.Addrs) < 2) {
		return nil
	}
	name := "redis refresh lock"
	if r.LockReplicas > 0 {
		return []Result{{Status: OK, Name: name,
			Detail: fmt.Sprintf("a refresh token is presented once %d replica(s) hold its lock, so a failover cannot lose it", r.LockReplicas)}}
	}
	return []Result{{Status: Warn, Name: name,
		Detail: "redis.lockReplicas is 0 with Sentinel or Cluster: a failover can lose a refresh lock and let a second replica refresh the same session",
		Fix:    "set redis.lockReplicas: 1 (and run two replicas per master, so refreshes go on while one is down)"}}
}
