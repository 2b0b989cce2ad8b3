package check

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// prometheusRule is the part of the Prometheus Operator's PrometheusRule the chart renders.
type prometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// tokengateMetrics are the series tokengate exports (internal/telemetry): an alert on any
// other tokengate_ name would never fire.
var tokengateMetrics = []string{
	"tokengate_auth_requests_total", "tokengate_auth_duration_seconds_bucket",
	"tokengate_idp_requests_total", "tokengate_idp_request_duration_seconds_bucket",
	"tokengate_token_cache_lookups_total", "tokengate_build_info", "tokengate_sessions_active",
	"tokengate_sign_ins_total", "tokengate_sign_outs_total",
}

var metricName = regexp.MustCompile(`tokengate_[a-z_]+`)

func (r *prometheusRule) validate() error {
	var errs []error
	if len(r.Spec.Groups) == 0 {
		errs = append(errs, errors.New("spec.groups: empty"))
	}
	for gi, g := range r.Spec.Groups {
		for ri, rule := range g.Rules {
			at := fmt.Sprintf("spec.groups[%d].rules[%d]", gi, ri)
			if rule.Alert == "" || strings.TrimSpace(rule.Expr) == "" {
				errs = append(errs, fmt.Errorf("%s: alert and expr are required", at))
			}
			if strings.Count(rule.Expr, "(") != strings.Count(rule.Expr, ")") || strings.Count(rule.Expr, "{") != strings.Count(rule.Expr, "}") {
				errs = append(errs, fmt.Errorf("%s (%s): unbalanced brackets in expr", at, rule.Alert))
			}
			for _, m := range metricName.FindAllString(rule.Expr, -1) {
				if !contains(tokengateMetrics, m) {
					errs = append(errs, fmt.Errorf("%s (%s): %s is not a series tokengate exports", at, rule.Alert, m))
				}
			}
			if rule.Labels["severity"] == "" || rule.Annotations["summary"] == "" {
				errs = append(errs, fmt.Errorf("%s (%s): want a severity label and a summary", at, rule.Alert))
			}
		}
	}
	return errors.Join(errs...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
