package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/tokengate/tokengate/internal/doctor"
)

// errChecksFailed is doctor's answer when a check failed: exit status 1, the report says why.
var errChecksFailed = errors.New("doctor found problems")

// maxInputBytes bounds the token and structured-authentication files doctor reads.
const maxInputBytes = 1 << 20

// doctorDeps are what doctor reads from the outside world, injectable for tests.
type doctorDeps struct {
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	environ []string
	now     func() time.Time
	// client reaches the identity provider; nil means one with provider.timeout.
	client *http.Client
}

func doctorCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runDoctor(ctx, args, doctorDeps{stdin: os.Stdin, stdout: stdout, stderr: stderr, environ: os.Environ(), now: time.Now})
}

// runDoctor parses the flags, runs the configuration checks and the token explanation that
// were asked for, prints one line per check and returns errChecksFailed when any failed.
func runDoctor(ctx context.Context, args []string, deps doctorDeps) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(deps.stderr)
	configPath := fs.String("config", "", "path of the YAML configuration file to check")
	tokenPath := fs.String("token", "", "a JWT to explain: a file, or - for standard input")
	structPath := fs.String("structured-auth", "", "a Kubernetes AuthenticationConfiguration to map the token with")
	offline := fs.Bool("offline", false, "do not contact the identity provider: skip discovery and the client credentials check")
	if err := parseFlags(fs, args, deps.stdout); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("doctor takes no arguments, got %q", fs.Arg(0))
	case *configPath == "" && *tokenPath == "":
		return usageErr("doctor needs --config FILE, --token FILE|-, or both")
	case *structPath != "" && *tokenPath == "":
		return usageErr("--structured-auth maps a token: give --token FILE|- too")
	}
	rep := &doctor.Report{}
	if *configPath != "" {
		cr := doctor.CheckConfig(ctx, doctor.Options{ConfigPath: *configPath, Environ: deps.environ, HTTPClient: deps.client, Offline: *offline})
		rep.Add(cr.Results...)
	}
	if *tokenPath != "" {
		raw, err := readInput(*tokenPath, deps.stdin)
		if err != nil {
			return usageErr("--token: %v", err)
		}
		var ac *doctor.AuthenticationConfiguration
		if *structPath != "" {
			data, err := readInput(*structPath, nil)
			if err != nil {
				return usageErr("--structured-auth: %v", err)
			}
			if ac, err = doctor.ParseAuthenticationConfiguration(data); err != nil {
				rep.Add(doctor.Result{Status: doctor.Fail, Name: "structured auth", Detail: err.Error(),
					Fix: "the API server would refuse this file too"})
			}
		}
		if *structPath == "" || ac != nil {
			rep.Add(doctor.ExplainToken(string(raw), ac, deps.now()).Results...)
		}
	}
	if err := rep.Write(deps.stdout); err != nil {
		return err
	}
	// Not "N passed, N failed": CI reads that shape as a test runner's closing line.
	fmt.Fprintf(deps.stdout, "doctor: %d ok, %d warnings, %d failed\n", rep.Count(doctor.OK), rep.Count(doctor.Warn), rep.Count(doctor.Fail))
	if rep.Failed() {
		return errChecksFailed
	}
	return nil
}

// readInput reads a file, or standard input for "-". Errors name the path, never content.
func readInput(path string, stdin io.Reader) ([]byte, error) {
	var r io.Reader
	if path == "-" {
		if stdin == nil {
			return nil, errors.New("only --token may read standard input")
		}
		r = stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxInputBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxInputBytes)
	}
	return b, nil
}
