package e2e

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
)

// nginxPool is NGINX in front of tokengate replicas whose upstream list changes as
// ingress-nginx's does when a Service's ready endpoints change.
type nginxPool struct {
	t    *testing.T
	port int
	proc *process
	conf func(pool []string) // rewrites nginx.conf with pool
}

// startNginxPool is startNginx with tokengate replicas at addrs behind one upstream.
func startNginxPool(t *testing.T, dir string, addrs []string, sites []nginxSite, ready func(port int) error) *nginxPool {
	t.Helper()
	n := &nginxPool{t: t}
	n.port, n.proc, n.conf = runNginx(t, dir, "tokengate_pool", addrs, sites, ready)
	return n
}

// setPool makes NGINX balance over addrs from now on: it rewrites the configuration, reloads
// (SIGHUP) and waits until the workers of the old configuration have exited.
func (n *nginxPool) setPool(addrs []string) {
	n.t.Helper()
	old := childPIDs(n.proc.cmd.Process.Pid)
	n.conf(addrs)
	if err := syscall.Kill(n.proc.cmd.Process.Pid, syscall.SIGHUP); err != nil {
		n.t.Fatalf("reload nginx: %v", err)
	}
	n.proc.waitReady(n.t, func() error {
		now := childPIDs(n.proc.cmd.Process.Pid)
		for pid := range old {
			if now[pid] {
				return fmt.Errorf("worker %s of the old configuration still runs: %w", pid, errNotYet)
			}
		}
		if len(now) == 0 {
			return fmt.Errorf("no worker yet: %w", errNotYet)
		}
		return nil
	})
}

// childPIDs lists the children of pid (Linux /proc).
func childPIDs(pid int) map[string]bool {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	out := map[string]bool{}
	for f := range strings.FieldsSeq(string(b)) {
		out[f] = true
	}
	return out
}
