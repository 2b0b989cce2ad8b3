package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// baselineCommand is the hidden first argument that makes this binary the baseline server.
// The baseline runs as its own process, like tokengate, so both pay the same for scheduling,
// their own garbage collector and the loopback.
const baselineCommand = "baseline-serve"

// runBaseline serves the bare net/http baseline: 200 with a fixed set of headers on every
// path, the least any forward-auth answer can cost.
func runBaseline(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet(baselineCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "address to listen on")
	headerFile := fs.String("headers", "", "JSON file of the headers to answer with")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	data, err := os.ReadFile(*headerFile)
	if err != nil {
		fmt.Fprintf(stderr, "baseline: %v\n", err)
		return exitFailed
	}
	var headers http.Header
	if err := json.Unmarshal(data, &headers); err != nil {
		fmt.Fprintf(stderr, "baseline: headers file: %v\n", err)
		return exitFailed
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "baseline: %v\n", err)
		return exitFailed
	}
	// The same server timeouts as tokengate's serve, so neither side skips work the other does.
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			h := w.Header()
			for k, v := range headers {
				h[k] = v
			}
			w.WriteHeader(http.StatusOK)
		}),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(stderr, "baseline: ", 0),
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx) // exiting anyway
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintf(stderr, "baseline: %v\n", err)
		return exitFailed
	}
	return 0
}

// baselineHeaders turns tokengate's answer into the baseline's: the same header names and
// value sizes, with every token replaced by filler of the same length, so the baseline
// writes as many bytes as tokengate and no token is copied anywhere.
func baselineHeaders(answer http.Header) http.Header {
	out := http.Header{}
	for name, values := range answer {
		switch name {
		case "Date", "Content-Length":
			continue // net/http writes these itself for both servers
		}
		for _, v := range values {
			out[name] = append(out[name], fillToken(name, v))
		}
	}
	return out
}

func fillToken(name, value string) string {
	switch name {
	case "Authorization":
		if scheme, tok, ok := strings.Cut(value, " "); ok {
			return scheme + " " + strings.Repeat("x", len(tok))
		}
		return strings.Repeat("x", len(value))
	case "X-Auth-Request-Access-Token", "X-Forwarded-Access-Token":
		return strings.Repeat("x", len(value))
	}
	return value
}

// startBaseline writes the headers file and starts this binary as the baseline server.
func startBaseline(ctx context.Context, dir string, headers http.Header) (*process, string, error) {
	data, err := json.Marshal(headers)
	if err != nil {
		return nil, "", fmt.Errorf("baseline headers: %w", err)
	}
	file := dir + "/baseline-headers.json"
	if err := os.WriteFile(file, data, 0o600); err != nil {
		return nil, "", fmt.Errorf("baseline headers: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, "", fmt.Errorf("baseline: find this executable: %w", err)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	p, err := startProcess(ctx, "baseline", self, baselineCommand, "-listen", addr, "-headers", file)
	if err != nil {
		return nil, "", err
	}
	url := "http://" + addr
	if err := waitHealthy(ctx, p, url+"/auth"); err != nil {
		p.stop()
		return nil, "", err
	}
	return p, url, nil
}
