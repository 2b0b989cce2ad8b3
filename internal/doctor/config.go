package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tokengate/tokengate/dashboards"
	"github.com/tokengate/tokengate/internal/config"
)

// defaultTimeout bounds calls to the provider when the configuration gives no usable timeout.
const defaultTimeout = 10 * time.Second

// Options are the inputs and dependencies of CheckConfig.
type Options struct {
	// ConfigPath is the YAML file; Environ the environment in os.Environ() form. Both are
	// read exactly as `tokengate serve` reads them.
	ConfigPath string
	Environ    []string
	// HTTPClient reaches the identity provider. Nil means a client whose timeout is
	// provider.timeout.
	HTTPClient *http.Client
	// Offline skips the checks that call the identity provider (discovery, client
	// credentials): for CI, and for a rendered config checked before anything is deployed.
	Offline bool
}

// CheckConfig runs the configuration checks in order: config valid and dashboards build,
// issuer discovery, redirect URI, client credentials, resource scopes, cookie, and what each
// dashboard receives. When the configuration is invalid the later checks still run on the
// file as written, so the report explains the problems instead of only listing them; a file
// that cannot be read or parsed stops the run after the first check.
func CheckConfig(ctx context.Context, opts Options) *Report {
	rep := &Report{}
	cfg, res := loadConfig(opts)
	rep.Add(res)
	if cfg == nil {
		return rep
	}
	profiles, res := buildDashboards(cfg)
	rep.Add(res)
	if opts.Offline {
		rep.Add(Result{Status: Warn, Name: "identity provider", Detail: "not contacted (--offline): issuer discovery and client credentials were not checked",
			Fix: "run doctor without --offline where the issuer is reachable"})
		rep.Add(checkRedirect(cfg))
	} else {
		client := opts.HTTPClient
		if client == nil {
			client = &http.Client{Timeout: providerTimeout(cfg)}
		}
		disc, results := checkDiscovery(ctx, client, cfg)
		rep.Add(results...)
		rep.Add(checkRedirect(cfg))
		rep.Add(checkCredentials(ctx, client, cfg, disc))
	}
	rep.Add(checkScopes(cfg)...)
	rep.Add(checkCookie(cfg)...)
	rep.Add(checkRedisLock(cfg)...)
	rep.Add(checkProfiles(cfg, profiles)...)
	secrets := []string{cfg.Provider.ClientSecret.Reveal()}
	for _, s := range cfg.Cookie.Secrets {
		secrets = append(secrets, s.Reveal())
	}
	rep.redact(secrets...)
	return rep
}

// loadConfig is check 1. It returns the configuration serve would run with or, when that is
// invalid, the file decoded leniently over the defaults (nil if even that fails).
func loadConfig(opts Options) (*config.Config, Result) {
	name := "config valid"
	cfg, err := config.Load(opts.ConfigPath, opts.Environ)
	if err == nil {
		return cfg, Result{Status: OK, Name: name, Detail: opts.ConfigPath + " loads and validates"}
	}
	res := Result{Status: Fail, Name: name, Detail: fmt.Sprintf("%s is invalid", opts.ConfigPath)}
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		res.Detail = fmt.Sprintf("%s has %d problem(s)", opts.ConfigPath, len(ve.Problems))
		for _, p := range ve.Problems {
			res.More = append(res.More, p.Error())
		}
	} else {
		res.More = []string{err.Error()}
	}
	lenient := lenientLoad(opts.ConfigPath)
	if lenient == nil {
		res.Fix = "correct each key listed below; the other checks need a readable file"
		return nil, res
	}
	res.Fix = "correct each key listed below; the checks that follow read the file as written"
	return lenient, res
}

// lenientLoad decodes the file over the defaults without strictness, environment or secret
// files: enough for the pure checks to explain what Load refused.
func lenientLoad(path string) *config.Config {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	c := config.Defaults()
	// A type error still fills every other key; only a syntax error leaves nothing useful.
	var te *yaml.TypeError
	if err := yaml.Unmarshal(data, &c); err != nil && !errors.As(err, &te) {
		return nil
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return &c
}

// buildDashboards is the second half of check 1: the profiles serve would build.
func buildDashboards(cfg *config.Config) (*dashboards.Set, Result) {
	set, err := dashboards.New(cfg)
	if err != nil {
		return nil, Result{Status: Fail, Name: "dashboards build", Detail: "the dashboard profiles do not build",
			Fix: "correct each key listed below", More: strings.Split(err.Error(), "\n")}
	}
	var names []string
	for _, p := range set.Profiles() {
		names = append(names, p.Name)
	}
	return set, Result{Status: OK, Name: "dashboards build",
		Detail: fmt.Sprintf("%d profile(s): %s", len(names), strings.Join(names, ", "))}
}

// providerTimeout is provider.timeout, or the default when the file sets none that works.
func providerTimeout(cfg *config.Config) time.Duration {
	if cfg.Provider.Timeout > 0 {
		return cfg.Provider.Timeout
	}
	return defaultTimeout
}
