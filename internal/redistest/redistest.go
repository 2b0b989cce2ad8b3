// Package redistest runs a real redis-server for tests: on a free 127.0.0.1 port, in a
// temporary directory, without persistence unless a test saves on purpose, stopped on cleanup.
//
// When redis-server is not installed the test is skipped with the reason, unless
// E2E=required (as in CI), where a missing binary fails the test.
package redistest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long redis-server may take to answer PING.
const startTimeout = 10 * time.Second

// Server is one redis-server process, restartable on the same port and directory.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	// conf, when set, is a sentinel configuration file: the process runs as a Sentinel.
	conf string
	// extra are further command-line options (--replicaof, --cluster-enabled).
	extra []string
	// tls, when set, makes the server listen (and replicate) only over TLS.
	tls *TLS

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start runs redis-server and waits until it answers PING. Cleanup stops it.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, "", nil, nil)
}

// start runs redis-server with extra options, or a Sentinel on conf when conf is set, over
// TLS when tls is set.
func start(t testing.TB, conf string, extra []string, tls *TLS) *Server {
	t.Helper()
	bin := requireBinary(t, "redis-server")
	s := &Server{t: t, bin: bin, dir: t.TempDir(), port: freePort(t), conf: conf, extra: extra, tls: tls}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// requireBinary returns the path of name, skipping the test when it is not installed, or
// failing it when E2E=required (CI), so a broken image cannot turn into a silent pass.
func requireBinary(t testing.TB, name string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("E2E") == "required" {
			t.Fatalf("%s is not installed and E2E=required: %v", name, err)
		}
		t.Skipf("%s is not installed (apt-get install redis-server redis-sentinel redis-tools); skipping: %v", name, err)
	}
	return bin
}

// Port is the server's TCP port.
func (s *Server) Port() int { return s.port }

// Addr is host:port of the server.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is the redis:// URL of the server.
func (s *Server) URL() string { return "redis://" + s.Addr() }

// Restart starts the server again after Stop (a no-op while it runs). It loads what the last
// Save wrote, so sessions survive a stop that was preceded by Save.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	cmd := exec.Command(s.bin, s.args()...)
	cmd.Dir = s.dir
	log, err := os.OpenFile(filepath.Join(s.dir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatalf("redis log: %v", err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		s.t.Fatalf("start redis-server: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		log.Close()
		close(done)
	}()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(startTimeout)
	for {
		if _, err := s.Do("PING"); err == nil {
			return
		} else if time.Now().After(deadline) {
			s.t.Fatalf("redis-server did not answer PING within %s: %v", startTimeout, err)
		}
		select {
		case <-done:
			s.t.Fatalf("redis-server exited at start; see %s", filepath.Join(s.dir, "redis.log"))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// args is the command line: a Sentinel reads (and rewrites) its file; a server keeps
// nothing on disk unless Save is called.
func (s *Server) args() []string {
	var args []string
	if s.conf != "" {
		args = append(args, s.conf, "--sentinel")
	}
	if s.tls != nil {
		args = append(args, s.tls.serverArgs(strconv.Itoa(s.port))...)
	} else {
		args = append(args, "--port", strconv.Itoa(s.port))
	}
	args = append(args, "--bind", "127.0.0.1", "--dir", s.dir)
	if s.conf == "" {
		// DEBUG SLEEP serves the fault tests of a slow Redis.
		args = append(args, "--save", "", "--appendonly", "no", "--dbfilename", "dump.rdb", "--enable-debug-command", "local")
	}
	return append(args, s.extra...)
}

// Save writes the dataset to disk, so that Restart after Stop brings it back.
func (s *Server) Save() {
	s.t.Helper()
	if _, err := s.Do("SAVE"); err != nil {
		s.t.Fatalf("redis SAVE: %v", err)
	}
}

// Stop kills the server (nothing is saved) and waits for it to exit.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd, s.done = nil, nil
}

// Pause stops the server with SIGSTOP: it keeps its connections and data but answers
// nothing until Resume, as a stalled or frozen Redis does. Stop kills it paused or not.
func (s *Server) Pause() {
	s.t.Helper()
	s.signal(syscall.SIGSTOP)
}

// Resume continues a paused server with SIGCONT.
func (s *Server) Resume() {
	s.t.Helper()
	s.signal(syscall.SIGCONT)
}

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.t.Fatalf("redis-server is not running; cannot send %v", sig)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal redis-server: %v", err)
	}
}

// Do sends one command in the inline protocol and returns the first reply line. It is for
// test setup and inspection (FLUSHALL, KEYS *, SAVE), independent of the client under test.
func (s *Server) Do(args ...string) (string, error) {
	var conn net.Conn
	var err error
	if s.tls != nil {
		conn, err = tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", s.Addr(), s.tls.ClientConfig())
	} else {
		conn, err = net.DialTimeout("tcp", s.Addr(), time.Second)
	}
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	return readReply(r)
}

// Dump returns every key and the raw value of every string key, joined: what someone who
// can read Redis sees.
func (s *Server) Dump() string {
	s.t.Helper()
	keys, err := s.Do("KEYS", "*")
	if err != nil {
		s.t.Fatalf("redis KEYS: %v", err)
	}
	var b strings.Builder
	b.WriteString(keys)
	for k := range strings.SplitSeq(keys, "\n") {
		if k == "" {
			continue
		}
		v, _ := s.Do("GET", k) // sets answer WRONGTYPE: their members show in SMEMBERS
		m, _ := s.Do("SMEMBERS", k)
		b.WriteString("\n" + v + "\n" + m)
	}
	return b.String()
}

// readReply reads one RESP2 reply; arrays come back as their elements joined by newlines.
func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", errors.New(line[1:])
	case '$':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return "", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	case '*':
		n, _ := strconv.Atoi(line[1:])
		items := make([]string, 0, max(n, 0))
		for range n {
			item, err := readReply(r)
			if err != nil {
				return "", err
			}
			items = append(items, item)
		}
		return strings.Join(items, "\n"), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}

// freePort asks the kernel for a free loopback port. Another process could take it before
// redis-server binds; tests then fail loudly at start rather than talk to a stranger.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
