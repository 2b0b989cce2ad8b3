package config

import (
	"errors"
	"fmt"
	"strings"
)

// Problem is one thing wrong with the configuration. Key is the full key path
// ("cookie.secrets[1]") or, for an environment override, the variable's name.
type Problem struct {
	Key string
	Err error
}

// Error implements error as "key: reason".
func (p Problem) Error() string { return p.Key + ": " + p.Err.Error() }

// Unwrap lets errors.Is see the cause, e.g. fs.ErrNotExist for a missing secret file.
func (p Problem) Unwrap() error { return p.Err }

// ValidationError lists every problem Load or Validate found, so an operator fixes them all in
// one round instead of one per restart.
type ValidationError struct {
	Problems []Problem
}

// Error implements error: one problem per line, each naming its key.
func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "config: " + e.Problems[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "config: %d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns every problem, so errors.Is and errors.As reach each cause.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// problems collects Problems. Callers must never pass a secret value as an argument.
type problems []Problem

func (ps *problems) add(key, format string, args ...any) {
	*ps = append(*ps, Problem{Key: key, Err: fmt.Errorf(format, args...)})
}

func (ps *problems) addErr(key string, err error) {
	*ps = append(*ps, Problem{Key: key, Err: err})
}

// err returns nil for no problems and a *ValidationError otherwise, with one Problem per key:
// several reasons for the same key are joined, so an operator reads each key once.
func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps.merged()}
}

// merged joins the problems of each key into one, in the order keys first appear.
func (ps problems) merged() []Problem {
	index := make(map[string]int, len(ps))
	var out []Problem
	for _, p := range ps {
		i, seen := index[p.Key]
		if !seen {
			index[p.Key] = len(out)
			out = append(out, p)
			continue
		}
		out[i].Err = joinedErr{out[i].Err, p.Err}
	}
	return out
}

// joinedErr is two reasons for one key, printed "first; second". errors.Is and errors.As
// reach both.
type joinedErr [2]error

func (j joinedErr) Error() string   { return j[0].Error() + "; " + j[1].Error() }
func (j joinedErr) Unwrap() []error { return j[:] }

// errSyntax marks a configuration file that is not YAML: nothing else is reported with it,
// since every "required" that would follow is a consequence of the unreadable file.
var errSyntax = errors.New("parse")
