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
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
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

// errUsage marks errors that are the caller's: bad flags, bad configuration.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printUsage(stderr)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "serve":
		err = serveCommand(ctx, args[1:], stderr)
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
	if err == nil {
		return 0
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
  doctor --config FILE [--token FILE|-] [--structured-auth FILE]
                        check the configuration, the identity provider and the
                        dashboards, and explain a token as an AKS API server sees it
  version               print the version
`)
}
