package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
)

// caddyCopyHeaders are the headers copied from a 2xx /auth answer onto the request. Only
// headers tokengate always sends belong here: Caddy 2.6.2's copy_headers sets a header that
// /auth left out to the literal text "{http.reverse_proxy.header.<Name>}". So
// X-Auth-Request-Groups is listed only with headers.passGroups on (off in these tests).
var caddyCopyHeaders = []string{"Authorization", "X-Auth-Request-User", "X-Auth-Request-Email"}

// caddySite is one protected host in the Caddyfile.
type caddySite struct {
	Host     string // site address host
	Upstream string // host:port of the dashboard
	// StripIdentity deletes the client's X-Auth-Request-* headers before forward_auth
	// runs. copy_headers replaces only the headers it lists (and, before Caddy's fix, only
	// those /auth returned), so any other X-Auth-Request-* header the client sent — here
	// X-Auth-Request-Groups — would reach the dashboard as forged.
	StripIdentity bool
}

// caddyfile follows the forward_auth example in Caddy's documentation: forward_auth to
// /auth with copy_headers, then reverse_proxy to the dashboard; the auth host proxies to
// tokengate. Automatic HTTPS and the admin endpoint are off: the test brings its own
// certificate and ports, and nothing may listen beyond 127.0.0.1.
var caddyfile = template.Must(template.New("Caddyfile").Parse(`{
	admin off
	auto_https off
	storage file_system {{.Dir}}/caddy-storage
}

https://auth.example.test:{{.Port}} {
	bind 127.0.0.1
	tls {{.CertFile}} {{.KeyFile}}
	reverse_proxy {{.Tokengate}}
}
{{range .Sites}}
https://{{.Host}}:{{$.Port}} {
	bind 127.0.0.1
	tls {{$.CertFile}} {{$.KeyFile}}
	route {
{{- if .StripIdentity}}
		request_header -X-Auth-Request-User
		request_header -X-Auth-Request-Email
		request_header -X-Auth-Request-Groups
{{- end}}
		forward_auth {{$.Tokengate}} {
			uri /auth
			copy_headers {{$.CopyHeaders}}
		}
		reverse_proxy {{.Upstream}}
	}
}
{{end}}`))

// startCaddy writes the Caddyfile into dir and runs caddy on a free port, with its home,
// data and config directories inside dir, returning the port once ready(port) succeeds.
func startCaddy(t *testing.T, dir, tokengate string, sites []caddySite, ready func(port int) error) int {
	t.Helper()
	bin := requireTool(t, "caddy", "/usr/bin/caddy")
	port := freePort(t)
	var conf strings.Builder
	err := caddyfile.Execute(&conf, map[string]any{
		"Dir":         dir,
		"Port":        port,
		"CertFile":    testPKI.CertFile,
		"KeyFile":     testPKI.KeyFile,
		"Tokengate":   tokengate,
		"Sites":       sites,
		"CopyHeaders": strings.Join(caddyCopyHeaders, " "),
	})
	mustf(t, err, "render Caddyfile")
	confFile := filepath.Join(dir, "Caddyfile")
	writeFile(t, confFile, conf.String(), 0o644)
	cmd := exec.Command(bin, "run", "--config", confFile, "--adapter", "caddyfile")
	cmd.Env = append(withoutServiceEnv(cmd.Environ()),
		"HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	p := startProcess(t, "caddy", dir, cmd)
	p.waitReady(t, func() error { return ready(port) })
	return port
}
