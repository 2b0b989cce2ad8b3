// Command tokengate-bench measures tokengate's /auth hot path against a bare net/http
// baseline on loopback. It starts the development identity provider in-process,
// builds and runs the real tokengate binary (cookie store, log level warn, tracing off), signs
// users in through the real sign-in flow, starts a baseline process that answers 200 with the
// same headers, and drives both alternately with wrk.
//
// With --tracing it also runs a second tokengate process, tokengate+tracing: the same binary
// and configuration file on its own port, with tracing on (every request sampled, exported
// over OTLP/HTTP to a sink in this process that counts the spans). It is driven in the same
// rounds, so tracing's cost is the ratio of two runs of one round (the budget: at least 0.75).
//
//	go run ./cmd/tokengate-bench                 default: 1 session, -t2 -c16 and -c64, 3 rounds of 10s
//	go run ./cmd/tokengate-bench --sessions 10000   10 000 distinct sessions, round-robin
//	go run ./cmd/tokengate-bench --groups 200       a user in 200 groups
//	go run ./cmd/tokengate-bench --tracing          tracing on against off, in the same rounds
//
// It exits non-zero when the identity provider got a token call during the load, or wrk
// counted a non-2xx answer or a socket error, or with --tracing when the OTLP sink received
// no span or an export it could not read: a benchmark that measured failures measured
// nothing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the driver's flags.
type options struct {
	rounds      int
	duration    time.Duration
	warmup      time.Duration
	threads     int
	connections []int
	store       string
	replicas    int
	tracing     bool
	sessions    int
	groups      int
	parallel    int
	wrk         string
	binary      string
	perf        string
	// signinProfile, when set, receives a CPU profile of this process (the development
	// identity provider and the sign-in clients) while the sessions are signed in.
	signinProfile string
	// memoryLimit is tokengate's GOMEMLIMIT ("" none), from which it sizes its caches;
	// cacheMaxBytes, when above zero, sets token.cacheMaxBytes instead.
	memoryLimit   string
	cacheMaxBytes int64
}

// exitFailed is the exit status of a run whose measurements cannot be trusted.
const exitFailed = 1

// exitUsage is the exit status for bad flags.
const exitUsage = 2

func main() {
	if len(os.Args) > 1 && os.Args[1] == baselineCommand {
		os.Exit(runBaseline(os.Args[2:], os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "tokengate-bench: %v\n", err)
		return exitUsage
	}
	if msg, ok := variantUnavailable(opts); !ok {
		fmt.Fprintln(stdout, msg)
		return 0
	}
	failures, err := bench(ctx, opts, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "tokengate-bench: %v\n", err)
		return exitFailed
	}
	if len(failures) > 0 {
		fmt.Fprintf(stdout, "\nFAILED: %s\n", strings.Join(failures, "; "))
		return exitFailed
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("tokengate-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := options{}
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; each runs every target once per connection count")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "wrk -d of one run")
	fs.DurationVar(&o.warmup, "warmup", 3*time.Second, "an unmeasured wrk run per target before round 1 (0: none)")
	fs.IntVar(&o.threads, "threads", 2, "wrk -t")
	conns := fs.String("connections", "16,64", "comma-separated wrk -c values")
	fs.StringVar(&o.store, "store", "cookie", "session store: cookie or redis")
	fs.IntVar(&o.replicas, "replicas", 1, "tokengate replicas on the same Redis (--store redis); with 2 or more, a target drives them all at once")
	fs.BoolVar(&o.tracing, "tracing", false, "also run a second tokengate with tracing on (100% sampled, to a local OTLP sink) and compare it with tracing off in the same rounds; with --sessions > 1, on the one-session script")
	fs.IntVar(&o.sessions, "sessions", 1, "distinct signed-in sessions, requested round-robin")
	fs.IntVar(&o.groups, "groups", 1, "groups of the signed-in user: 1 (bob) or 200 (many)")
	fs.IntVar(&o.parallel, "signin-parallel", 8, "concurrent sign-ins when creating sessions")
	fs.StringVar(&o.wrk, "wrk", "wrk", "wrk executable")
	fs.StringVar(&o.binary, "binary", "", "prebuilt tokengate binary (default: go build ./cmd/tokengate)")
	fs.StringVar(&o.signinProfile, "signin-profile", "", "write a CPU profile of the bench process (identity provider and sign-in clients) during the sign-ins to `file`")
	fs.StringVar(&o.memoryLimit, "memory-limit", "", "GOMEMLIMIT of tokengate, e.g. 256MiB: a pod's memory limit, from which it sizes its caches")
	fs.Int64Var(&o.cacheMaxBytes, "cache-max-bytes", 0, "token.cacheMaxBytes of tokengate (0: sized from the memory limit)")
	fs.StringVar(&o.perf, "perf", "", "record `perf.data` of tokengate during its first run (needs perf)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for part := range strings.SplitSeq(*conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 {
			return o, fmt.Errorf("--connections: %q is not a positive number", part)
		}
		o.connections = append(o.connections, n)
	}
	switch {
	case o.rounds < 1:
		return o, errors.New("--rounds: want at least 1")
	case o.duration < time.Second:
		return o, errors.New("--duration: want at least 1s")
	case o.warmup != 0 && o.warmup < time.Second:
		return o, errors.New("--warmup: want 0 (none) or at least 1s")
	case o.threads < 1:
		return o, errors.New("--threads: want at least 1")
	case o.sessions < 1:
		return o, errors.New("--sessions: want at least 1")
	case o.cacheMaxBytes < 0:
		return o, errors.New("--cache-max-bytes: want 0 or more")
	case o.parallel < 1:
		return o, errors.New("--signin-parallel: want at least 1")
	case o.store != "cookie" && o.store != "redis":
		return o, fmt.Errorf("--store: %q; want cookie or redis", o.store)
	case o.replicas < 1 || o.replicas > 4:
		return o, errors.New("--replicas: want 1 to 4")
	case o.replicas > 1 && (o.store != "redis" || o.sessions > 1):
		return o, errors.New("--replicas: several replicas need --store redis (they share the sessions there) and one session")
	}
	if _, err := userFor(o.groups); err != nil {
		return o, err
	}
	return o, nil
}

// userFor is the sample user of the development identity provider with that many groups.
func userFor(groups int) (string, error) {
	switch groups {
	case 1:
		return "bob", nil
	case 200:
		return "many", nil
	}
	return "", fmt.Errorf("--groups: %d; the development identity provider has sample users with 1 (bob) or 200 (many) groups", groups)
}
