package main

import (
	"github.com/tokengate/tokengate/internal/config"
)

// variantUnavailable reports, for a variant tokengate cannot run, the message to print
// instead of measuring. It looks at the configuration keys tokengate really has, rather than
// silently benchmarking the cookie store. Tracing is configured by OTEL_* variables (the
// driver starts an OTLP sink for --tracing), so it needs no key.
func variantUnavailable(o options) (string, bool) {
	keys := map[string]bool{}
	for _, k := range config.Keys() {
		keys[k.Path] = true
	}
	if o.store == "redis" && (!keys["session.store"] || !keys["redis.url"]) {
		return "--store redis: not available yet (tokengate has no session.store/redis.url keys); skipped", false
	}
	return "", true
}
