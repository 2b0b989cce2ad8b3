// Command tokengate is a forward-auth service that hands Kubernetes dashboards the signed-in
// user's access token for the Kubernetes API.
//
//	tokengate serve --config FILE   run the service
//	tokengate demo                  run a self-contained demo on localhost
//	tokengate doctor --config FILE  explain what is wrong, one line per check, with the fix
//	tokengate version               print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tokengate/tokengate/internal/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// exitUsage is the exit status for bad flags and invalid configuration.
const exitUsage = 2

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errUsage marks errors that are the caller's: bad flags, bad configuration. It is matched
// with errors.Is and never printed: the message is the cause alone.
var errUsage = errors.New("usage")

// errHelp is a command's answer to -h/--help after printing its flags: exit status 0.
var errHelp = errors.New("help requested")

// usageError is an error that is the caller's (exit status 2); its message is the cause's.
type usageError struct{ err error }

func (e *usageError) Error() string        { return e.err.Error() }
func (e *usageError) Unwrap() error        { return e.err }
func (e *usageError) Is(target error) bool { return target == errUsage }

// usageErr formats a usageError.
func usageErr(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// configError is an invalid configuration: run prints each problem on a line of its own,
// prefixed "tokengate: invalid configuration: ", so that a log line names its key.
type configError struct{ err error }

func (e *configError) Error() string        { return "invalid configuration: " + e.err.Error() }
func (e *configError) Unwrap() error        { return e.err }
func (e *configError) Is(target error) bool { return target == errUsage }

func invalidConfig(err error) error { return &configError{err: err} }

// parseFlags parses a command's flags. -h/--help prints them to stdout and returns errHelp,
// which run turns into exit status 0: asking for help is not a mistake.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	usage := func(w io.Writer) {
		fs.SetOutput(w)
		fmt.Fprintf(w, "usage: tokengate %s [flags]\n", fs.Name())
		fs.PrintDefaults()
	}
	stderr := fs.Output()
	// The flag package prints its error and the usage itself; both are printed below instead,
	// to the stream that fits, and the error once.
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout)
		return errHelp
	}
	if err != nil {
		usage(stderr)
		return usageErr("%w", err)
	}
	return nil
}

// configLines are the lines of an invalid configuration: one per problem of a
// *config.ValidationError, else one per line of the message.
func configLines(err error) []string {
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		lines := make([]string, len(ve.Problems))
		for i, p := range ve.Problems {
			lines[i] = p.Error()
		}
		return lines
	}
	return strings.Split(err.Error(), "\n")
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printUsage(stderr)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "serve":
		err = serveCommand(ctx, args[1:], stdout, stderr)
	case "demo":
		err = demoCommand(ctx, args[1:], stdout, stderr)
	case "doctor":
		err = doctorCommand(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-v":
		_, err = fmt.Fprintf(stdout, "tokengate %s\n", version)
	case "help", "--help", "-h":
		printUsage(stdout)
	default:
		fmt.Fprintf(stderr, "tokengate: unknown command %q\n", args[0])
		printUsage(stderr)
		return exitUsage
	}
	var ce *configError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ce):
		for _, line := range configLines(ce.err) {
			fmt.Fprintf(stderr, "tokengate: invalid configuration: %s\n", line)
		}
		return exitUsage
	}
	fmt.Fprintf(stderr, "tokengate: %v\n", err)
	if errors.Is(err, errUsage) {
		return exitUsage
	}
	return 1
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `usage: tokengate <command> [flags]

commands:
  serve --config FILE   run the forward-auth service (env TOKENGATE_* overrides the file)
  demo                  run tokengate, a development identity provider and a sample
                        dashboard on localhost, and print the URL to open
  doctor --config FILE [--offline] [--token FILE|-] [--structured-auth FILE]
                        check the configuration, the identity provider and the
                        dashboards, and explain a token as an AKS API server sees it
  version               print the version
`)
}
