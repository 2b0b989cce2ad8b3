package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tokengate/tokengate/internal/secret"
)

// maxSecretFileBytes bounds a secret file: a secret is a short line, and a path pointing at a
// device or a log by mistake must not be read forever.
const maxSecretFileBytes = 64 << 10

// Load reads the YAML file at path (path "" = no file, only env + defaults), applies environment
// overrides from environ (os.Environ() format "KEY=value"), reads secret files, applies Defaults,
// and runs Validate. Any problem → error listing every problem, each prefixed with its full key
// path (a *ValidationError).
//
// Defaults are applied first and the file and environment decoded over them, so a key set to
// zero on purpose keeps its zero. Every stage runs even after another failed, so one attempt
// reports everything that needs fixing.
func Load(path string, environ []string) (*Config, error) {
	c := Defaults()
	var ps problems
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			// Alone: the "required" lines that would follow all come from the missing file.
			ps.add(path, "read configuration file: %w", err)
			return nil, ps.err()
		}
		ps = decodeYAML(&c, path, data)
		if len(ps) == 1 && errors.Is(ps[0].Err, errSyntax) {
			return nil, ps.err()
		}
	}
	ps = append(ps, applyEnv(&c, environ)...)
	applyWorkloadIdentityEnv(&c, environ) // clientauth.go
	ps = append(ps, readSecretFiles(&c)...)
	ps = append(ps, checkClientAuthFiles(&c)...)
	c.normalize()
	var ve *ValidationError
	if err := c.Validate(); errors.As(err, &ve) {
		ps = append(ps, ve.Problems...)
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return &c, nil
}

// normalize rewrites values whose spelling varies but whose meaning does not.
func (c *Config) normalize() {
	c.PublicURL = trimTrailingSlash(c.PublicURL)
}

// readSecretFiles replaces secrets with the contents of the files that hold them. Setting both
// a value and a file is refused rather than silently preferring one: an operator who set both
// believes both are in use.
func readSecretFiles(c *Config) problems {
	var ps problems
	p := &c.Provider
	if p.ClientSecretFile != "" {
		if !p.ClientSecret.IsEmpty() {
			ps.add("provider.clientSecretFile", "set provider.clientSecret or provider.clientSecretFile, not both")
		} else if s, err := readSecretFile(p.ClientSecretFile); err != nil {
			ps.addErr("provider.clientSecretFile", err)
		} else {
			p.ClientSecret = secret.String(s)
		}
	}
	if r := &c.Redis; r.PasswordFile != "" {
		if !r.Password.IsEmpty() {
			ps.add("redis.passwordFile", "set redis.password or redis.passwordFile, not both")
		} else if s, err := readSecretFile(r.PasswordFile); err != nil {
			ps.addErr("redis.passwordFile", err)
		} else {
			r.Password = secret.String(s)
		}
	}
	ck := &c.Cookie
	if len(ck.SecretFiles) > 0 {
		if len(ck.Secrets) > 0 {
			ps.add("cookie.secretFiles", "set cookie.secrets or cookie.secretFiles, not both")
			return ps
		}
		ok := true
		keys := make([]string, len(ck.SecretFiles))
		for i, path := range ck.SecretFiles {
			s, err := readSecretFile(path)
			if err != nil {
				ps.addErr(fmt.Sprintf("cookie.secretFiles[%d]", i), err)
				ok = false
				continue
			}
			keys[i] = s
		}
		if ok {
			ck.Secrets = make([]secret.String, len(keys))
			for i, k := range keys {
				ck.Secrets[i] = secret.String(k)
			}
		}
	}
	return ps
}

// readSecretFile returns the file's content minus one trailing newline (what `echo` and most
// editors add). Errors name the path, never the content.
func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("read secret file %s: %w", path, err)
	}
	if len(b) > maxSecretFileBytes {
		return "", fmt.Errorf("secret file %s is larger than %d bytes; want one secret", path, maxSecretFileBytes)
	}
	s := strings.TrimSuffix(string(b), "\n")
	s = strings.TrimSuffix(s, "\r")
	if s == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return s, nil
}

func trimTrailingSlash(s string) string {
	for strings.HasSuffix(s, "/") && !strings.HasSuffix(s, "://") {
		s = strings.TrimSuffix(s, "/")
	}
	return s
}
