package redistest

import (
	"testing"
	"time"
)

// A write acknowledged by WAIT survives the kill of the master: the Sentinels promote the
// replica, which has it.
func TestSentinelFailoverKeepsReplicatedWrites(t *testing.T) {
	t0 := time.Now()
	s := StartSentinel(t)
	t.Logf("topology up in %s", time.Since(t0).Round(10*time.Millisecond))
	old := s.Master()
	if old != s.Servers[0] {
		t.Fatalf("master at start is %s; want the first server %s", old.Addr(), s.Servers[0].Addr())
	}
	if _, err := old.Do("SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	s.Replicate()
	start := time.Now()
	old.Stop()
	promoted := s.WaitFailover(old)
	t.Logf("failover took %s", time.Since(start).Round(10*time.Millisecond))
	if got, err := promoted.Do("GET", "k"); err != nil || got != "v" {
		t.Errorf("GET k on the promoted master = %q, %v; want v", got, err)
	}
}

// Over TLS the Sentinels still fail the master over.
func TestSentinelTLSFailover(t *testing.T) {
	s := StartSentinelTLS(t, NewTLS(t))
	old := s.Master()
	old.Stop()
	if promoted := s.WaitFailover(old); promoted == old {
		t.Fatal("the old master is still named")
	}
}
