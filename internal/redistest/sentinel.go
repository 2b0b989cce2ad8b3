package redistest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// MasterName is the name the Sentinels of StartSentinel monitor.
const MasterName = "tokengate"

// Sentinel timings: short, so that a failover takes about two seconds on a busy machine,
// yet longer than a scheduling hiccup of a loaded CI runner.
const (
	downAfter       = 1000 * time.Millisecond
	failoverTimeout = 5 * time.Second
	// settleTimeout bounds waiting for replication links and Sentinel discovery.
	settleTimeout = 20 * time.Second
)

// Sentinel is a Redis Sentinel topology on loopback: one master, one replica and three
// Sentinels (quorum 2), as a Helm-installed Redis runs it, every process stopped on cleanup.
type Sentinel struct {
	t testing.TB
	// Servers are the data nodes; Servers[0] starts as the master.
	Servers   []*Server
	Sentinels []*Server
}

// StartSentinel starts the topology and waits until the replica is in sync and every
// Sentinel knows the replica and the two other Sentinels, so a failover can be authorised.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	return startSentinel(t, nil)
}

// StartSentinelTLS is StartSentinel with every node and Sentinel speaking only TLS, with
// certificates of c.
func StartSentinelTLS(t testing.TB, c *TLS) *Sentinel {
	t.Helper()
	return startSentinel(t, c)
}

func startSentinel(t testing.TB, tls *TLS) *Sentinel {
	t.Helper()
	requireBinary(t, "redis-sentinel") // Debian ships it apart from redis-server
	// Either node may become master: neither delays a full sync (Redis 7 waits 5s for more
	// replicas by default).
	noDelay := []string{"--repl-diskless-sync-delay", "0"}
	master := start(t, "", noDelay, tls)
	replica := start(t, "", append([]string{"--replicaof", "127.0.0.1", strconv.Itoa(master.Port())}, noDelay...), tls)
	s := &Sentinel{t: t, Servers: []*Server{master, replica}}
	s.waitFor("the replica to sync", func() bool { return replica.info("master_link_status") == "up" })
	for range 3 {
		dir := t.TempDir()
		conf := filepath.Join(dir, "sentinel.conf")
		body := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d 2\n"+
			"sentinel down-after-milliseconds %[1]s %[3]d\n"+
			"sentinel failover-timeout %[1]s %[4]d\n"+
			"sentinel parallel-syncs %[1]s 1\n",
			MasterName, master.Port(), downAfter.Milliseconds(), failoverTimeout.Milliseconds())
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatalf("sentinel config: %v", err)
		}
		s.Sentinels = append(s.Sentinels, start(t, conf, nil, tls))
	}
	for _, sen := range s.Sentinels {
		s.waitFor("every sentinel to know the replica and its peers", func() bool {
			m := fields(sen.Do("SENTINEL", "MASTER", MasterName))
			return m["num-slaves"] == "1" && m["num-other-sentinels"] == "2"
		})
	}
	return s
}

// Addrs are the Sentinels' host:port, for redis.addrs.
func (s *Sentinel) Addrs() []string {
	addrs := make([]string, len(s.Sentinels))
	for i, sen := range s.Sentinels {
		addrs[i] = sen.Addr()
	}
	return addrs
}

// Master returns the data node the Sentinels name as master now.
func (s *Sentinel) Master() *Server {
	s.t.Helper()
	for _, sen := range s.Sentinels {
		reply, err := sen.Do("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MasterName)
		if err != nil {
			continue
		}
		hostPort := strings.Split(reply, "\n")
		if len(hostPort) != 2 {
			continue
		}
		addr := net.JoinHostPort(hostPort[0], hostPort[1])
		for _, srv := range s.Servers {
			if srv.Addr() == addr {
				return srv
			}
		}
	}
	s.t.Fatalf("no sentinel names a master of this topology")
	return nil
}

// Replicate waits until every write the master acknowledged so far reached the replica
// (WAIT 1): what a kill of the master can no longer lose.
func (s *Sentinel) Replicate() {
	s.t.Helper()
	n, err := s.Master().Do("WAIT", "1", "5000")
	if err != nil || n != "1" {
		s.t.Fatalf("WAIT 1 on the master = %q, %v; want 1 replica in sync", n, err)
	}
}

// WaitFailover waits until the Sentinels promoted another node than old and that node
// accepts writes as master, and returns it.
func (s *Sentinel) WaitFailover(old *Server) *Server {
	s.t.Helper()
	var promoted *Server
	s.waitFor("a sentinel failover", func() bool {
		m := s.Master()
		if m == old || m.info("role") != "master" {
			return false
		}
		promoted = m
		return true
	})
	return promoted
}

func (s *Sentinel) waitFor(what string, ok func() bool) {
	s.t.Helper()
	waitUntil(s.t, what, ok)
}

// waitUntil polls ok every 20ms until it holds, failing the test after settleTimeout: the
// processes change state on their own clocks (replication, gossip), which no test controls.
func waitUntil(t testing.TB, what string, ok func() bool) {
	t.Helper()
	waitLonger(t, settleTimeout, what, ok)
}

// waitLonger is waitUntil with its own bound.
func waitLonger(t testing.TB, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// info returns one field of INFO replication, "" when the server does not answer.
func (s *Server) info(field string) string {
	reply, err := s.Do("INFO", "replication")
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

// fields turns a flat name/value array reply into a map; an error gives an empty map.
func fields(reply string, err error) map[string]string {
	m := map[string]string{}
	if err != nil {
		return m
	}
	kv := strings.Split(reply, "\n")
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// Rejoin restarts old, the master a failover replaced, and waits until it replicates the new
// master, as a restarted pod does once the Sentinels reconfigure it. Until then the new
// master has no replica to acknowledge a write.
func (s *Sentinel) Rejoin(old *Server) {
	s.t.Helper()
	old.Restart()
	waitLonger(s.t, rejoinTimeout, "the old master to rejoin as a replica", func() bool { return acknowledges(old, s.Servers) })
}

// rejoinTimeout bounds Rejoin: a Sentinel demotes a returning master only after it has
// reported the wrong role for a while (about 8 s), then the replica syncs in full.
const rejoinTimeout = time.Minute

// acknowledges reports whether replica is in sync with its master among servers, and the
// master counts it for WAIT: a master marks a replica online only at its first
// acknowledgement, a moment after the replica reports its link up.
func acknowledges(replica *Server, servers []*Server) bool {
	if replica.info("role") != "slave" || replica.info("master_link_status") != "up" {
		return false
	}
	for _, m := range servers {
		if strconv.Itoa(m.Port()) == replica.info("master_port") {
			// A fresh connection has written nothing: WAIT counts the replicas that acked.
			n, err := m.Do("WAIT", "1", "100")
			return err == nil && n == "1"
		}
	}
	return false
}
