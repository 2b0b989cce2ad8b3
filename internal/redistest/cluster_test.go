package redistest

import (
	"testing"
	"time"
)

// The cluster serves every slot, and keys sharing a hash tag share a slot.
func TestClusterStartsWithEverySlot(t *testing.T) {
	t0 := time.Now()
	c := StartCluster(t)
	t.Logf("cluster up in %s", time.Since(t0).Round(10*time.Millisecond))
	masters := 0
	for _, n := range c.Nodes {
		if n.info("role") == "master" {
			masters++
		}
	}
	if masters != 3 {
		t.Errorf("%d masters; want 3 (and 3 replicas)", masters)
	}
	if a, b := c.Slot("p{x}:session"), c.Slot("p{x}:lock"); a != b {
		t.Errorf("slots of keys tagged {x} = %d, %d; want equal", a, b)
	}
}

// Over TLS the cluster forms too (bus and replication included), and plain TCP is refused.
func TestClusterTLS(t *testing.T) {
	c := StartClusterTLS(t, NewTLS(t))
	plain := &Server{t: t, port: c.Nodes[0].Port()}
	if _, err := plain.Do("PING"); err == nil {
		t.Error("PING without TLS answered; want the node to speak only TLS")
	}
}
