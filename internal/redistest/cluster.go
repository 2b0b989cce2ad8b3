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
	return startCluster(t, nil)
}

// StartClusterTLS is StartCluster with clients, replication and the cluster bus over TLS,
// with certificates of c.
func StartClusterTLS(t testing.TB, c *TLS) *Cluster {
	t.Helper()
	return startCluster(t, c)
}

func startCluster(t testing.TB, tls *TLS) *Cluster {
	t.Helper()
	cli := requireBinary(t, "redis-cli")
	c := &Cluster{t: t}
	opts := []string{
		"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
		// A dead master is failed over after one second, not the default fifteen.
		"--cluster-node-timeout", "1000",
		"--repl-diskless-sync-delay", "0",
	}
	var args []string
	if tls != nil {
		opts = append(opts, "--tls-cluster", "yes")
		args = append(args, "--tls", "--cacert", tls.CAFile)
	}
	for range 6 {
		c.Nodes = append(c.Nodes, start(t, "", opts, tls))
	}
	args = append(args, "--cluster", "create")
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

// Replicate waits until every master's acknowledged writes reached its replica (WAIT 1 on
// each master): what the kill of a master can no longer lose.
func (c *Cluster) Replicate() {
	c.t.Helper()
	for _, n := range c.Nodes {
		if n.info("role") != "master" {
			continue
		}
		if got, err := n.Do("WAIT", "1", "5000"); err != nil || got != "1" {
			c.t.Fatalf("WAIT 1 on %s = %q, %v; want 1 replica in sync", n.Addr(), got, err)
		}
	}
}

// MasterOf returns the node that serves slot now, as a live node sees it.
func (c *Cluster) MasterOf(slot int) *Server {
	c.t.Helper()
	if m := c.masterOf(slot); m != nil {
		return m
	}
	c.t.Fatalf("no live node names the master of slot %d", slot)
	return nil
}

// masterOf is MasterOf, nil while no live node names one (during a failover).
func (c *Cluster) masterOf(slot int) *Server {
	for _, n := range c.Nodes {
		for _, line := range c.nodes(n) {
			if line.master && !line.failed && line.serves(slot) {
				if srv := c.byAddr(line.addr); srv != nil {
					return srv
				}
			}
		}
	}
	return nil
}

// WaitFailover waits until a replica took over the slots of old (stopped) and every other
// node reports the cluster ok again, and returns the new master of slot.
func (c *Cluster) WaitFailover(old *Server, slot int) *Server {
	c.t.Helper()
	var promoted *Server
	waitUntil(c.t, "a cluster failover", func() bool {
		for _, n := range c.Nodes {
			if n != old && n.clusterInfo("cluster_state") != "ok" {
				return false
			}
		}
		promoted = c.masterOf(slot)
		return promoted != nil && promoted != old && promoted.info("role") == "master"
	})
	return promoted
}

// MoveSlot migrates slot and its keys to the master to, as `redis-cli --cluster reshard`
// does for each slot it moves: IMPORTING, MIGRATING, MIGRATE in batches, then NODE on
// every master.
func (c *Cluster) MoveSlot(slot int, to *Server) {
	c.t.Helper()
	from := c.MasterOf(slot)
	s := strconv.Itoa(slot)
	do := func(n *Server, args ...string) string {
		reply, err := n.Do(args...)
		if err != nil {
			c.t.Fatalf("%s on %s: %v", strings.Join(args[:2], " "), n.Addr(), err)
		}
		return reply
	}
	do(to, "CLUSTER", "SETSLOT", s, "IMPORTING", c.nodeID(from))
	do(from, "CLUSTER", "SETSLOT", s, "MIGRATING", c.nodeID(to))
	for {
		keys := do(from, "CLUSTER", "GETKEYSINSLOT", s, "100")
		if keys == "" {
			break
		}
		args := []string{"MIGRATE", "127.0.0.1", strconv.Itoa(to.Port()), "", "0", "5000", "KEYS"}
		do(from, append(args, strings.Split(keys, "\n")...)...)
	}
	for _, n := range []*Server{to, from} {
		do(n, "CLUSTER", "SETSLOT", s, "NODE", c.nodeID(to))
	}
	for _, n := range c.Nodes {
		if n != to && n != from && n.info("role") == "master" {
			do(n, "CLUSTER", "SETSLOT", s, "NODE", c.nodeID(to))
		}
	}
}

// nodeLine is one line of CLUSTER NODES.
type nodeLine struct {
	id, addr       string
	master, failed bool
	ranges         []string
}

func (l nodeLine) serves(slot int) bool {
	for _, r := range l.ranges {
		lo, hi, found := strings.Cut(r, "-")
		if !found {
			hi = lo
		}
		a, errA := strconv.Atoi(lo)
		b, errB := strconv.Atoi(hi)
		if errA == nil && errB == nil && a <= slot && slot <= b {
			return true
		}
	}
	return false
}

// nodes parses CLUSTER NODES as n sees it; nil when n does not answer.
func (c *Cluster) nodes(n *Server) []nodeLine {
	reply, err := n.Do("CLUSTER", "NODES")
	if err != nil {
		return nil
	}
	var out []nodeLine
	for line := range strings.SplitSeq(reply, "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		out = append(out, nodeLine{
			id: f[0], addr: addr, ranges: f[8:],
			master: strings.Contains(f[2], "master"), failed: strings.Contains(f[2], "fail"),
		})
	}
	return out
}

func (c *Cluster) nodeID(s *Server) string {
	c.t.Helper()
	id, err := s.Do("CLUSTER", "MYID")
	if err != nil {
		c.t.Fatalf("CLUSTER MYID on %s: %v", s.Addr(), err)
	}
	return id
}

func (c *Cluster) byAddr(addr string) *Server {
	for _, n := range c.Nodes {
		if n.Addr() == addr {
			return n
		}
	}
	return nil
}

// SetUser creates or changes an ACL user on every node (ACLs are per node, not replicated
// through the cluster bus), so it survives a failover.
func (c *Cluster) SetUser(rules ...string) {
	c.t.Helper()
	for _, n := range c.Nodes {
		if _, err := n.Do(append([]string{"ACL", "SETUSER"}, rules...)...); err != nil {
			c.t.Fatalf("ACL SETUSER on %s: %v", n.Addr(), err)
		}
	}
}

// Rejoin restarts old, a master a failover replaced, and waits until it replicates the node
// that took its slots, as a restarted pod does: it keeps its nodes.conf and learns from the
// cluster bus that it lost them.
func (c *Cluster) Rejoin(old *Server) {
	c.t.Helper()
	old.Restart()
	waitLonger(c.t, rejoinTimeout, "the old master to rejoin as a replica", func() bool { return acknowledges(old, c.Nodes) })
}
