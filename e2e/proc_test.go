package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long any server may take to come up.
const startTimeout = 20 * time.Second

// process is a server the test started; it is stopped by the test's cleanup.
type process struct {
	name   string
	cmd    *exec.Cmd
	logPth string
	exited chan struct{} // closed when the process has ended
	err    error         // Wait's result, valid after exited
}

// startProcess runs cmd in its own process group with stdout and stderr in dir/<name>.log.
// Cleanup sends SIGTERM to the whole group (nginx's workers included), waits a bounded
// time, then SIGKILLs it. Pdeathsig stops the server too if the test binary dies first.
func startProcess(t *testing.T, name, dir string, cmd *exec.Cmd) *process {
	t.Helper()
	p := &process{name: name, cmd: cmd, logPth: filepath.Join(dir, name+".log"), exited: make(chan struct{})}
	logFile, err := os.Create(p.logPth)
	if err != nil {
		t.Fatalf("%s: log file: %v", name, err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *process) stop(t *testing.T) {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
		t.Errorf("%s did not stop within 10s of SIGTERM; killed", p.name)
	}
	if t.Failed() {
		p.dumpLog(t)
	}
}

// dumpLog shows the end of the server's log. Neither tokengate, nginx nor Caddy logs
// tokens or cookies at the levels configured here.
func (p *process) dumpLog(t *testing.T) {
	b, err := os.ReadFile(p.logPth)
	if err != nil {
		return
	}
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	t.Logf("--- end of %s log ---\n%s", p.name, b)
}

// waitReady polls ready until it succeeds, the process exits or startTimeout passes. The
// log is shown by the cleanup of a failed test.
func (p *process) waitReady(t *testing.T, ready func() error) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		err := ready()
		if err == nil {
			return
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited before it was ready: %v", p.name, p.err)
		case <-time.After(25 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after %s: %v", p.name, startTimeout, err)
		}
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago. The programs
// under test bind their own ports, so there is a small window in which another process
// could take it; a clash shows up as a start failure with the port in the log.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

var errNotYet = errors.New("not yet")

func statusErr(what string, got, want int) error {
	if got == want {
		return nil
	}
	return fmt.Errorf("%s: status %d, want %d: %w", what, got, want, errNotYet)
}
