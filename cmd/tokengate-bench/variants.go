package main

import (
	"fmt"
	"strings"

	"github.com/tokengate/tokengate/internal/config"
)

// variantUnavailable reports, for a variant tokengate cannot run yet, the message to print
// instead of measuring. It looks at the configuration keys tokengate really has, so the
// answer changes by itself when the Redis store or tracing lands; the driver then says it
// must learn to drive the new keys rather than silently benchmarking the cookie store.
func variantUnavailable(o options) (string, bool) {
	keys := map[string]bool{}
	tracingKey := ""
	for _, k := range config.Keys() {
		keys[k.Path] = true
		if tracingKey == "" && (strings.HasPrefix(k.Path, "tracing.") || strings.HasPrefix(k.Path, "telemetry.")) {
			tracingKey = k.Path
		}
	}
	if o.store == "redis" && (!keys["session.store"] || !keys["redis.url"]) {
		return "--store redis: not available yet (tokengate has no session.store/redis.url keys); skipped", false
	}
	if o.tracing {
		if tracingKey == "" {
			return "--tracing: not available yet (tokengate has no tracing/telemetry configuration); skipped", false
		}
		return fmt.Sprintf("--tracing: tokengate now has %s, but %s does not drive it yet; extend stack.go (an OTLP sink and the tracing keys)", tracingKey, binaryName), false
	}
	return "", true
}

// binaryName names this driver in messages.
const binaryName = "tokengate-bench"
