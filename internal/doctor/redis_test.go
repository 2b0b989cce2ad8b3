package doctor

import (
	"testing"

	"github.com/tokengate/tokengate/internal/config"
)

func TestCheckRedisLock(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *config.Config)
		none   bool // no result at all
		want   Status
	}{
		{name: "cookie store", none: true, mutate: func(c *config.Config) {}},
		{name: "one server", none: true, mutate: func(c *config.Config) { c.Session.Store, c.Redis.URL = config.StoreRedis, "redis://r:6379" }},
		{name: "sentinel without lockReplicas", want: Warn, mutate: func(c *config.Config) {
			c.Session.Store, c.Redis.Addrs, c.Redis.MasterName = config.StoreRedis, []string{"s:26379"}, "m"
		}},
		{name: "cluster without lockReplicas", want: Warn, mutate: func(c *config.Config) {
			c.Session.Store, c.Redis.Addrs = config.StoreRedis, []string{"a:6379", "b:6379"}
		}},
		{name: "cluster with lockReplicas", want: OK, mutate: func(c *config.Config) {
			c.Session.Store, c.Redis.Addrs, c.Redis.LockReplicas = config.StoreRedis, []string{"a:6379", "b:6379"}, 1
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Defaults()
			tt.mutate(&cfg)
			got := checkRedisLock(&cfg)
			switch {
			case tt.none && len(got) != 0:
				t.Errorf("got %v; want no result", got)
			case !tt.none && (len(got) != 1 || got[0].Status != tt.want):
				t.Errorf("got %v; want one result with status %v", got, tt.want)
			}
		})
	}
}
