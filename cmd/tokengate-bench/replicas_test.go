package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunTargetSpreadsOverReplicas: one wrk per replica, the connections split between
// them; req/s and counts add up, latencies are the slowest replica's. wrk is a script that
// answers as wrk would, a clean run for one URL and a failing one for the other.
func TestRunTargetSpreadsOverReplicas(t *testing.T) {
	dir := t.TempDir()
	for name, out := range map[string]string{"clean.txt": wrkClean, "failing.txt": wrkFailing} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fake := filepath.Join(dir, "wrk")
	// The last argument is the URL; the arguments also go to args.log, to check the split.
	script := "#!/bin/sh\necho \"$@\" >> " + dir + "/args.log\ncase \"$*\" in *fail*) cat " + dir + "/failing.txt;; *) cat " + dir + "/clean.txt;; esac\n"
	if err := os.WriteFile(fake, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	o := options{wrk: fake, threads: 2}
	tgt := target{url: "http://a/auth", more: []string{"http://fail/auth"}, script: "s.lua"}
	got, err := runTarget(t.Context(), o, tgt, 16, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkResult{ReqPerSec: 28112.35 + 100, Requests: 281234 + 1000, Non2xx: 12, SocketErrors: 7,
		P50: 1500 * time.Microsecond, P99: 2100 * time.Millisecond}
	if got != want {
		t.Errorf("runTarget = %+v; want %+v", got, want)
	}
	args, err := os.ReadFile(filepath.Join(dir, "args.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(args), "-t1 -c8 "); n != 2 {
		t.Errorf("wrk runs with -t1 -c8: %d; want 2 (16 connections and 2 threads split over 2 replicas)\n%s", n, args)
	}
}
