package config

import (
	"errors"
	"fmt"
	"strings"
)

// applyEnv overrides keys from TOKENGATE_… variables in environ ("KEY=value", as os.Environ).
// A TOKENGATE_ variable that matches no key is a problem: a typo would otherwise be ignored
// silently and the default used. Like os.Getenv, the first of duplicate entries wins.
func applyEnv(c *Config, environ []string) problems {
	byEnv := make(map[string]Key)
	for _, k := range Keys() {
		byEnv[k.Env] = k
	}
	var ps problems
	seen := make(map[string]bool)
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || name == EnvConfig || seen[name] {
			continue
		}
		seen[name] = true
		k, ok := byEnv[name]
		if !ok {
			ps.addErr(name, unknownEnv(name, byEnv))
			continue
		}
		if k.isStructured() {
			ps = append(ps, decodeStructuredEnv(k.field(c), name, value)...)
			continue
		}
		if err := setFromEnv(c, k, value); err != nil {
			ps.add(name, "%s: %w", k.Path, err)
		}
	}
	return ps
}

// setFromEnv sets one key from its variable's value. Lists are comma-separated; spaces around
// items and empty items are dropped, so "" sets an empty list.
func setFromEnv(c *Config, k Key, value string) error {
	if k.isStructured() {
		return decodeStructuredEnv(k.field(c), k.Env, value).err()
	}
	if !k.isList() {
		return setScalar(k.field(c), value)
	}
	var items []string
	for item := range strings.SplitSeq(value, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return setList(k.field(c), items)
}

// unknownEnv explains an unknown variable, suggesting the closest known name when one is near.
func unknownEnv(name string, byEnv map[string]Key) error {
	best, bestDist := "", 4
	for env := range byEnv {
		if d := editDistance(name, env); d < bestDist || d == bestDist && env < best {
			best, bestDist = env, d
		}
	}
	if best != "" {
		return fmt.Errorf("unknown variable; did you mean %s?", best)
	}
	return errors.New("unknown variable: no configuration key has this name")
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
