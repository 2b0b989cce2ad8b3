package localkube

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// stopTimeout bounds how long a server may take to exit after SIGTERM.
const stopTimeout = 10 * time.Second

// process is a server the cluster started, stopped by its own pid (its process group).
type process struct {
	name   string
	cmd    *exec.Cmd
	log    string
	exited chan struct{} // closed when the process has ended
	err    error         // Wait's result, valid after exited
}

// startProcess runs bin with args in its own process group, stdout and stderr in
// dir/<name>.log. Pdeathsig stops it too if the program that started it dies.
func startProcess(dir, name, bin string, args ...string) (*process, error) {
	p := &process{name: name, log: filepath.Join(dir, name+".log"), exited: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := p.cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { // ends when the process does; stop makes sure it does
		p.err = p.cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	return p, nil
}

// stop sends SIGTERM to the process group, waits a bounded time, then SIGKILLs it.
func (p *process) stop() error {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
		return fmt.Errorf("%s did not stop within %s of SIGTERM; killed", p.name, stopTimeout)
	}
}

// tail returns the end of the process's log, for an error message. Neither etcd nor
// kube-apiserver logs bearer tokens at the verbosity used here.
func (p *process) tail() string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return ""
	}
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}
