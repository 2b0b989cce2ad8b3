package redistest

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// Cluster is a Redis Cluster on loopback: three masters and three replicas, created with
// `redis-cli --cluster create` as an operator would, every process stopped on cleanup.
type Cluster struct {
	t testing.TB
	// Nodes are the six servers; which are masters is up to redis-cli.
	Nodes []*Server
}

// StartCluster starts six cluster-enabled servers, joins them and waits until every node
// reports cluster_state:ok and knows all sixteen thousand slots.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	cli := requireBinary(t, "redis-cli")
	c := &Cluster{t: t}
	for range 6 {
		c.Nodes = append(c.Nodes, start(t, "", []string{
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			// A dead master is failed over after one second, not the default fifteen.
			"--cluster-node-timeout", "1000",
			"--repl-diskless-sync-delay", "0",
		}))
	}
	args := []string{"--cluster", "create"}
	for _, n := range c.Nodes {
		args = append(args, n.Addr())
	}
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, n := range c.Nodes {
		waitUntil(t, "every node to see the cluster ok", func() bool {
			return n.clusterInfo("cluster_state") == "ok" && n.clusterInfo("cluster_slots_ok") == "16384"
		})
	}
	return c
}

// Addrs are the nodes' host:port, for redis.addrs.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr()
	}
	return addrs
}

// Slot is the hash slot of key, as the cluster computes it.
func (c *Cluster) Slot(key string) int {
	c.t.Helper()
	reply, err := c.Nodes[0].Do("CLUSTER", "KEYSLOT", key)
	if err != nil {
		c.t.Fatalf("CLUSTER KEYSLOT: %v", err)
	}
	n, err := strconv.Atoi(reply)
	if err != nil {
		c.t.Fatalf("CLUSTER KEYSLOT = %q", reply)
	}
	return n
}

// Keys returns every key of every master (KEYS on each node; a test's data set is small).
func (c *Cluster) Keys() []string {
	c.t.Helper()
	var keys []string
	for _, n := range c.Nodes {
		if n.info("role") != "master" {
			continue
		}
		reply, err := n.Do("KEYS", "*")
		if err != nil {
			c.t.Fatalf("KEYS on %s: %v", n.Addr(), err)
		}
		for k := range strings.SplitSeq(reply, "\n") {
			if k != "" {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// clusterInfo returns one field of CLUSTER INFO, "" when the node does not answer.
func (s *Server) clusterInfo(field string) string {
	reply, err := s.Do("CLUSTER", "INFO")
	if err != nil {
		return ""
	}
	for line := range strings.SplitSeq(reply, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	return ""
}
