package localkube

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// fieldManager names this package's server-side applies.
const fieldManager = "localkube"

// objectHead is the part of a manifest that says where it goes.
type objectHead struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
}

// ApplyOptions vary Apply.
type ApplyOptions struct {
	// DryRun asks the API server to admit the object (validation, defaulting, admission)
	// without storing it: dryRun=All.
	DryRun bool
	// Namespace is used when the manifest names none and its kind is namespaced.
	Namespace string
}

// Apply server-side applies one manifest (YAML or JSON) as the admin: the API server decodes
// it strictly (fieldValidation=Strict, an unknown field is an error) and admits it. The
// resource comes from discovery, so any built-in kind or installed CRD works.
func (c *Cluster) Apply(ctx context.Context, manifest []byte, o ApplyOptions) error {
	var h objectHead
	if err := yaml.Unmarshal(manifest, &h); err != nil {
		return fmt.Errorf("apply: decode manifest head: %w", err)
	}
	if h.APIVersion == "" || h.Kind == "" || h.Metadata.Name == "" {
		return errors.New("apply: manifest needs apiVersion, kind and metadata.name")
	}
	what := h.Kind + " " + h.Metadata.Name
	res, namespaced, err := c.resourceFor(ctx, h.APIVersion, h.Kind)
	if err != nil {
		return fmt.Errorf("apply %s: %w", what, err)
	}
	path := "/apis/" + h.APIVersion
	if !strings.Contains(h.APIVersion, "/") {
		path = "/api/" + h.APIVersion
	}
	if namespaced {
		ns := h.Metadata.Namespace
		if ns == "" {
			ns = o.Namespace
		}
		if ns == "" {
			ns = "default"
		}
		path += "/namespaces/" + url.PathEscape(ns)
	}
	q := url.Values{"fieldManager": {fieldManager}, "force": {"true"}, "fieldValidation": {"Strict"}}
	if o.DryRun {
		q.Set("dryRun", "All")
	}
	path += "/" + res + "/" + url.PathEscape(h.Metadata.Name) + "?" + q.Encode()
	resp, err := c.AsAdmin(ctx, http.MethodPatch, path, "application/apply-patch+yaml", manifest)
	if err != nil {
		return fmt.Errorf("apply %s: %w", what, err)
	}
	if resp.Status != http.StatusOK && resp.Status != http.StatusCreated {
		return fmt.Errorf("apply %s: %d: %s", what, resp.Status, statusMessage(resp.Body))
	}
	return nil
}

// resourceFor finds the resource name of kind in apiVersion and whether it is namespaced.
func (c *Cluster) resourceFor(ctx context.Context, apiVersion, kind string) (string, bool, error) {
	path := "/apis/" + apiVersion
	if !strings.Contains(apiVersion, "/") {
		path = "/api/" + apiVersion
	}
	resp, err := c.AsAdmin(ctx, http.MethodGet, path, "", nil)
	if err != nil {
		return "", false, fmt.Errorf("discovery: %w", err)
	}
	if resp.Status != http.StatusOK {
		return "", false, fmt.Errorf("discovery of %s: %d: %s", apiVersion, resp.Status, statusMessage(resp.Body))
	}
	var list struct {
		Resources []struct {
			Name       string `json:"name"`
			Kind       string `json:"kind"`
			Namespaced bool   `json:"namespaced"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(resp.Body, &list); err != nil {
		return "", false, fmt.Errorf("decode discovery of %s: %w", apiVersion, err)
	}
	for _, r := range list.Resources {
		if r.Kind == kind && !strings.Contains(r.Name, "/") { // not a subresource
			return r.Name, r.Namespaced, nil
		}
	}
	return "", false, fmt.Errorf("the API server serves no kind %s in %s", kind, apiVersion)
}

// statusMessage is the message of a metav1.Status answer, else the start of the body.
func statusMessage(body []byte) string {
	var st struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &st) == nil && st.Message != "" {
		return st.Message
	}
	if len(body) > 300 {
		body = body[:300]
	}
	return string(body)
}

// WaitServed waits, bounded by timeout, until the API server serves kind in apiVersion: a
// CustomResourceDefinition just applied is served once its names are accepted and it is
// established, a moment later.
func (c *Cluster) WaitServed(ctx context.Context, apiVersion, kind string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		_, _, err := c.resourceFor(ctx, apiVersion, kind)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s %s not served after %s: %w", apiVersion, kind, timeout, err)
		case <-tick.C:
		}
	}
}

// SplitYAML splits a multi-document YAML stream at its "---" lines, dropping documents that
// hold only comments or blank lines (helm template emits those).
func SplitYAML(stream []byte) [][]byte {
	var docs [][]byte
	var cur []byte
	content := false
	flush := func() {
		if content {
			docs = append(docs, cur)
		}
		cur, content = nil, false
	}
	for _, line := range bytes.SplitAfter(stream, []byte("\n")) {
		trimmed := bytes.TrimRight(line, " \t\r\n")
		if bytes.Equal(trimmed, []byte("---")) || bytes.HasPrefix(trimmed, []byte("--- ")) {
			flush()
			continue
		}
		cur = append(cur, line...)
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			content = true
		}
	}
	flush()
	return docs
}
