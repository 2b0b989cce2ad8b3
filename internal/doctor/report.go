// Package doctor explains why a tokengate deployment fails, one line per check with the fix:
// the configuration, the identity provider (discovery, client credentials), scopes, cookies,
// what each dashboard receives, and, given a token, what an AKS API server would say about
// it, including the username and groups an AKS structured-authentication configuration
// would map. It turns the classic "signed in, but the dashboard says 401" into a diagnosis.
//
// Checks are pure where they can be; the network is reached only through the injected
// *http.Client and the time only through the injected clock. No check prints a token, a
// client secret or a cookie key.
package doctor

import (
	"fmt"
	"io"
	"strings"
)

// Status is the outcome of one check.
type Status int

// Status values, from good to bad.
const (
	// OK means the check passed.
	OK Status = iota
	// Warn is advice: tokengate works, but something is likely to surprise someone.
	Warn
	// Fail means this is (or will be) broken; doctor exits non-zero.
	Fail
)

// Symbol is the one-character mark a Status is printed with.
func (s Status) Symbol() string {
	switch s {
	case OK:
		return "✓"
	case Warn:
		return "!"
	}
	return "✗"
}

// Result is one line of the diagnosis.
type Result struct {
	Status Status
	// Name is the check, e.g. "issuer discovery".
	Name string
	// Detail says what was found; for a failure, what is wrong.
	Detail string
	// Fix says what to change. Printed after the detail as "Fix: …".
	Fix string
	// More are further lines printed indented under the result, e.g. one per problem.
	More []string
}

// String formats the result as "✓ name — detail" or "✗ name — detail. Fix: fix".
func (r Result) String() string {
	var b strings.Builder
	b.WriteString(r.Status.Symbol() + " " + r.Name)
	if r.Detail != "" {
		b.WriteString(" — " + r.Detail)
	}
	if r.Fix != "" {
		b.WriteString(sentenceEnd(r.Detail) + "Fix: " + r.Fix)
	}
	for _, m := range r.More {
		b.WriteString("\n    " + m)
	}
	return b.String()
}

// sentenceEnd is what separates a detail from its fix: nothing more than a space when the
// detail already ends a sentence.
func sentenceEnd(s string) string {
	if s == "" || strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "?") {
		return " "
	}
	return ". "
}

// Report is every result of one doctor run, in order.
type Report struct {
	Results []Result
}

// Add appends results.
func (r *Report) Add(results ...Result) { r.Results = append(r.Results, results...) }

// Failed reports whether any result is a Fail.
func (r *Report) Failed() bool { return r.Count(Fail) > 0 }

// Count is the number of results with status s.
func (r *Report) Count(s Status) int {
	n := 0
	for _, res := range r.Results {
		if res.Status == s {
			n++
		}
	}
	return n
}

// Write prints one result per line.
func (r *Report) Write(w io.Writer) error {
	for _, res := range r.Results {
		if _, err := fmt.Fprintln(w, res.String()); err != nil {
			return fmt.Errorf("write doctor report: %w", err)
		}
	}
	return nil
}

// minRedactLen keeps redaction from eating the report: a one-letter "secret" (a test value,
// a typo) would otherwise blank that letter everywhere.
const minRedactLen = 6

// redact replaces every occurrence of each value in the report's text by [redacted]. It is a
// last line of defence: no check means to print a secret, but an identity provider's error
// description may echo what was sent.
func (r *Report) redact(values ...string) {
	var pairs []string
	for _, v := range values {
		if len(v) >= minRedactLen {
			pairs = append(pairs, v, "[redacted]")
		}
	}
	if len(pairs) == 0 {
		return
	}
	rep := strings.NewReplacer(pairs...)
	for i := range r.Results {
		res := &r.Results[i]
		res.Name, res.Detail, res.Fix = rep.Replace(res.Name), rep.Replace(res.Detail), rep.Replace(res.Fix)
		for j := range res.More {
			res.More[j] = rep.Replace(res.More[j])
		}
	}
}
