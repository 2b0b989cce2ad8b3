package main

import (
	"github.com/tokengate/tokengate/internal/config"
	"os"
	"regexp"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestPrometheusRulesQueryExistingSeries keeps deploy/prometheus in step with /metrics:
// the file is a PrometheusRule, and every tokengate metric an alert queries is exported.
func TestPrometheusRulesQueryExistingSeries(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/prometheus/tokengate-cache-rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rule struct {
		Kind string `yaml:"kind"`
		Spec struct {
			Groups []struct {
				Rules []struct {
					Alert string `yaml:"alert"`
					Expr  string `yaml:"expr"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(raw, &rule); err != nil {
		t.Fatalf("parse: %v", err)
	}
	if rule.Kind != "PrometheusRule" || len(rule.Spec.Groups) == 0 {
		t.Fatalf("kind %q with %d groups; want a PrometheusRule with groups", rule.Kind, len(rule.Spec.Groups))
	}
	h := newHarness(t, func(c *config.Config) { c.Metrics.InsecureServeOnListen = true }) // scraped through the test server
	h.signIn("alice")
	families := scrapeMetrics(t, h.auth.Client(), h.auth.URL+"/metrics")
	names := regexp.MustCompile(`\btokengate_[a-z_]+`)
	alerts := 0
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			alerts++
			used := names.FindAllString(r.Expr, -1)
			if r.Alert == "" || len(used) == 0 {
				t.Errorf("rule %q queries %v; want a named alert on tokengate metrics", r.Alert, used)
			}
			for _, name := range used {
				if _, ok := families[name]; !ok {
					t.Errorf("alert %s queries %s, which /metrics does not export", r.Alert, name)
				}
			}
		}
	}
	if alerts < 2 {
		t.Errorf("%d alerts; want the thrash and the IdP-limit alerts", alerts)
	}
}
