package forward

// Telling a browser's page navigation from a script's call: the first may be sent to sign
// in, the second must get a plain 401.

import (
	"net/http"
	"strconv"
	"strings"
)

// isNavigation tells a browser page load (which may be redirected to sign-in) from an
// XHR/fetch or API call (which must get a plain 401). Sec-Fetch-Mode (Fetch Metadata) is
// authoritative when present; older clients are judged by Accept, method and X-Requested-With.
func isNavigation(method string, h http.Header) bool {
	if mode := strings.TrimSpace(h.Get("Sec-Fetch-Mode")); mode != "" {
		return strings.EqualFold(mode, "navigate")
	}
	if h.Get("X-Requested-With") != "" {
		return false
	}
	if method != http.MethodGet && method != http.MethodHead {
		return false
	}
	return AcceptsHTML(h.Values("Accept"))
}

// AcceptsHTML reports whether an Accept header lists text/html with a non-zero q.
func AcceptsHTML(accept []string) bool {
	for _, line := range accept {
		for _, item := range strings.Split(line, ",") {
			media, params, _ := strings.Cut(item, ";")
			if !strings.EqualFold(strings.TrimSpace(media), "text/html") {
				continue
			}
			if !qZero(params) {
				return true
			}
		}
	}
	return false
}

func qZero(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q == 0
		}
	}
	return false
}
