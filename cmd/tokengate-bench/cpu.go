package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat: USER_HZ, 100 on every Linux
// architecture Go supports (sysconf(_SC_CLK_TCK) would need cgo).
const userHZ = 100

// cpuTime is the CPU time a process has used so far, all its threads, user and system.
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read CPU time: %w", err)
	}
	return parseCPUTime(string(data))
}

// parseCPUTime reads utime and stime (fields 14 and 15) from a /proc/<pid>/stat line. The
// command name (field 2) may hold spaces, so fields are counted after its closing ")".
func parseCPUTime(stat string) (time.Duration, error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("parse /proc stat: no command name")
	}
	fields := strings.Fields(stat[end+1:]) // fields[0] is field 3, the state
	if len(fields) < 13 {
		return 0, fmt.Errorf("parse /proc stat: %d fields after the command; want at least 13", len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc stat: %q: %w", f, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// cpuPerRequest is a run's CPU time spread over its requests; zero without requests.
func cpuPerRequest(cpu time.Duration, requests int) time.Duration {
	if requests <= 0 {
		return 0
	}
	return cpu / time.Duration(requests)
}

// printTracingCPU compares the CPU each /auth costs tokengate with tracing on and off, in
// the same rounds. Unlike req/s, which the shared cores and wrk itself blur, CPU time per
// request is what tracing adds to the process.
func printTracingCPU(w io.Writer, o options, runs []measurement) {
	fmt.Fprintln(w, "\nCPU per /auth (median of rounds, tokengate's process, all threads):")
	for _, conns := range o.connections {
		off := medianCPU(o, runs, conns, tracingOffName)
		on := medianCPU(o, runs, conns, tracingName)
		if off == 0 || on == 0 {
			continue
		}
		fmt.Fprintf(w, "  c=%-3d tracing off %6.1f µs, on %6.1f µs: tracing adds %.1f µs (%+.0f%%)\n", conns,
			micros(off), micros(on), micros(on-off), 100*(float64(on)/float64(off)-1))
	}
}

func medianCPU(o options, runs []measurement, conns int, name string) time.Duration {
	var cpus []time.Duration
	for round := 1; round <= o.rounds; round++ {
		if m, ok := findRun(runs, round, conns, name); ok && m.cpuPerRequest > 0 {
			cpus = append(cpus, m.cpuPerRequest)
		}
	}
	return median(cpus)
}

// findRun is the run of target name at one round and connection count.
func findRun(runs []measurement, round, conns int, name string) (measurement, bool) {
	for _, m := range runs {
		if m.round == round && m.conns == conns && m.target == name {
			return m, true
		}
	}
	return measurement{}, false
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
