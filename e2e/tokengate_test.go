package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"
)

// tokengateOptions are the settings a scenario group varies.
type tokengateOptions struct {
	IssuerURL    string
	ClientID     string
	Mode         string        // forwardAuth.mode
	SafetyMargin time.Duration // token.safetyMargin
	RefreshAhead time.Duration // token.refreshAhead
	Dashboards   string        // YAML of the dashboards key, "" for none (one default profile)
	CacheTTL     time.Duration // forwardAuth.cacheTTL
	// Env is added to tokengate's environment ("KEY=value"), such as the OTEL_* variables
	// of a scenario that exports traces.
	Env []string
	// Listen is the address to bind, default a free port: replicas restarted in place
	// keep theirs.
	Listen string
	// CookieKey is the cookie key, default a random one: replicas share theirs.
	CookieKey []byte
	// OlderCookieKeys follow CookieKey in cookie.secretFiles: they still open cookies, as
	// during a key rotation.
	OlderCookieKeys [][]byte
	// ShutdownDelay is shutdownDelay (serving with readiness false after SIGTERM).
	ShutdownDelay time.Duration
	// RedisURL, when set, turns session.store redis on with this server.
	RedisURL string
}

// tokengateConfig is the configuration file of the tokengate under test. Secrets come from
// files, as they would from a mounted Kubernetes Secret.
var tokengateConfig = template.Must(template.New("tokengate.yaml").Parse(`
publicURL: https://auth.example.test
listen: {{.Listen}}
allowedRedirectDomains: [".example.test"]
provider:
  issuerURL: {{.IssuerURL}}
  clientID: {{.ClientID}}
  clientSecretFile: {{.ClientSecretFile}}
  timeout: 5s
cookie:
  name: _tokengate
  domain: .example.test
  secretFiles: [{{.CookieSecretFile}}{{range .OlderKeyFiles}}, {{.}}{{end}}]
token:
  safetyMargin: {{.SafetyMargin}}
  refreshAhead: {{.RefreshAhead}}
forwardAuth:
  mode: {{.Mode}}
  cacheTTL: {{.CacheTTL}}
log:
  level: debug
  format: text
{{with .ShutdownDelay}}shutdownDelay: {{.}}
{{end}}{{with .RedisURL}}session:
  store: redis
redis:
  url: {{.}}
  timeout: 1s
{{end}}{{with .Dashboards}}dashboards:
{{.}}{{end}}`))

// startTokengate writes the configuration and runs the tokengate binary on a free port,
// returning its base URL once /readyz answers 200 (provider discovery done). The cookie
// keys are returned so tests can open the session cookie the browser holds.
func startTokengate(t *testing.T, dir, clientSecret string, o tokengateOptions) (baseURL string, cookieKey []byte) {
	t.Helper()
	_, baseURL, cookieKey = runTokengate(t, dir, clientSecret, o)
	return baseURL, cookieKey
}

// runTokengate is startTokengate that also returns the process, for a test that stops it.
func runTokengate(t *testing.T, dir, clientSecret string, o tokengateOptions) (p *process, baseURL string, cookieKey []byte) {
	t.Helper()
	cookieKey = o.CookieKey
	if cookieKey == nil {
		cookieKey = make([]byte, 32)
		_, _ = rand.Read(cookieKey) // crypto/rand.Read never fails on supported platforms
	}
	secretFile := filepath.Join(dir, "client-secret")
	keyFile := filepath.Join(dir, "cookie-secret")
	writeFile(t, secretFile, clientSecret+"\n", 0o600)
	writeFile(t, keyFile, base64.StdEncoding.EncodeToString(cookieKey)+"\n", 0o600)
	olderKeyFiles := make([]string, len(o.OlderCookieKeys))
	for i, k := range o.OlderCookieKeys {
		olderKeyFiles[i] = filepath.Join(dir, fmt.Sprintf("cookie-secret-%d", i+1))
		writeFile(t, olderKeyFiles[i], base64.StdEncoding.EncodeToString(k)+"\n", 0o600)
	}

	listen := o.Listen
	if listen == "" {
		listen = hostPort(freePort(t))
	}
	var cfg strings.Builder
	err := tokengateConfig.Execute(&cfg, struct {
		tokengateOptions
		Listen, ClientSecretFile, CookieSecretFile string
		OlderKeyFiles                              []string
	}{o, listen, secretFile, keyFile, olderKeyFiles})
	if err != nil {
		t.Fatalf("render tokengate config: %v", err)
	}
	cfgFile := filepath.Join(dir, "tokengate.yaml")
	writeFile(t, cfgFile, cfg.String(), 0o600)

	cmd := exec.Command(tokengateBin, "serve", "--config", cfgFile)
	cmd.Env = append(withoutServiceEnv(os.Environ()), o.Env...)
	p = startProcess(t, "tokengate", dir, cmd)
	baseURL = "http://" + listen
	client := &http.Client{Timeout: 2 * time.Second}
	p.waitReady(t, func() error {
		resp, err := client.Get(baseURL + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return statusErr("tokengate /readyz", resp.StatusCode, http.StatusOK)
	})
	return p, baseURL, cookieKey
}

// withoutServiceEnv drops the TOKENGATE_* and OTEL_* variables of the test's environment:
// tokengate refuses a TOKENGATE_ variable that names no configuration key, and neither the
// test's own settings nor a collector the developer's shell points at may change what the
// service under test does. A scenario passes its own through tokengateOptions.Env.
func withoutServiceEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "TOKENGATE_") && !strings.HasPrefix(kv, "OTEL_") {
			out = append(out, kv)
		}
	}
	return out
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

func durationOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func mustf(t *testing.T, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}
