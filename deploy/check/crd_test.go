package check

import (
	"errors"
	"fmt"
	"net/url"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The CRD types below model the fields of Traefik's and the Prometheus Operator's resources
// that tokengate's chart and examples may use, named as in their CRDs (Traefik v3
// traefik.io/v1alpha1, monitoring.coreos.com/v1). Decoding is strict, so a misspelt field
// (authResponseHeader, trustForwardHeaders) fails; validate checks what the controllers need.
// Importing the projects' Go types would pull two large dependency trees into this module.

// middleware is a Traefik Middleware; only forwardAuth is modelled.
type middleware struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ForwardAuth *forwardAuth `json:"forwardAuth"`
	} `json:"spec"`
}

// forwardAuth is Traefik's ForwardAuth middleware configuration.
type forwardAuth struct {
	Address                  string         `json:"address"`
	TrustForwardHeader       *bool          `json:"trustForwardHeader"`
	AuthResponseHeaders      []string       `json:"authResponseHeaders"`
	AuthResponseHeadersRegex string         `json:"authResponseHeadersRegex"`
	AuthRequestHeaders       []string       `json:"authRequestHeaders"`
	AddAuthCookiesToResponse []string       `json:"addAuthCookiesToResponse"`
	TLS                      map[string]any `json:"tls"`
	HeaderField              string         `json:"headerField"`
	ForwardBody              bool           `json:"forwardBody"`
	MaxBodySize              *int64         `json:"maxBodySize"`
	MaxResponseBodySize      *int64         `json:"maxResponseBodySize"`
	PreserveLocationHeader   bool           `json:"preserveLocationHeader"`
	PreserveRequestMethod    bool           `json:"preserveRequestMethod"`
}

func (m *middleware) validate() error {
	fa := m.Spec.ForwardAuth
	if fa == nil {
		return errors.New("spec.forwardAuth missing")
	}
	var errs []error
	if u, err := url.Parse(fa.Address); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("spec.forwardAuth.address %q: not an http(s) URL", fa.Address))
	}
	// Trusting the client's X-Forwarded-* would let it name another dashboard's host.
	if fa.TrustForwardHeader == nil || *fa.TrustForwardHeader {
		errs = append(errs, errors.New("spec.forwardAuth.trustForwardHeader: must be set to false"))
	}
	if !slices.Contains(fa.AuthResponseHeaders, "Authorization") {
		errs = append(errs, errors.New("spec.forwardAuth.authResponseHeaders: Authorization missing"))
	}
	return errors.Join(errs...)
}

// ingressRoute is a Traefik IngressRoute.
type ingressRoute struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		EntryPoints []string `json:"entryPoints"`
		Routes      []route  `json:"routes"`
		TLS         *struct {
			SecretName   string         `json:"secretName"`
			CertResolver string         `json:"certResolver"`
			Options      map[string]any `json:"options"`
			Store        map[string]any `json:"store"`
			Domains      []struct {
				Main string   `json:"main"`
				SANs []string `json:"sans"`
			} `json:"domains"`
		} `json:"tls"`
	} `json:"spec"`
}

// route is one route of an IngressRoute.
type route struct {
	Match       string `json:"match"`
	Kind        string `json:"kind"`
	Priority    int    `json:"priority"`
	Middlewares []struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"middlewares"`
	Services []struct {
		Name             string             `json:"name"`
		Namespace        string             `json:"namespace"`
		Kind             string             `json:"kind"`
		Port             intstr.IntOrString `json:"port"`
		Scheme           string             `json:"scheme"`
		PassHostHeader   *bool              `json:"passHostHeader"`
		ServersTransport string             `json:"serversTransport"`
	} `json:"services"`
}

func (r *ingressRoute) validate() error {
	if len(r.Spec.Routes) == 0 {
		return errors.New("spec.routes: empty")
	}
	var errs []error
	for i, rt := range r.Spec.Routes {
		if rt.Match == "" {
			errs = append(errs, fmt.Errorf("spec.routes[%d].match: empty", i))
		}
		if rt.Kind != "Rule" {
			errs = append(errs, fmt.Errorf("spec.routes[%d].kind: %q, want Rule", i, rt.Kind))
		}
		if len(rt.Services) == 0 {
			errs = append(errs, fmt.Errorf("spec.routes[%d].services: empty", i))
		}
		for j, s := range rt.Services {
			if s.Name == "" || (s.Port.IntVal == 0 && s.Port.StrVal == "") {
				errs = append(errs, fmt.Errorf("spec.routes[%d].services[%d]: name and port required", i, j))
			}
		}
		for j, mw := range rt.Middlewares {
			if mw.Name == "" {
				errs = append(errs, fmt.Errorf("spec.routes[%d].middlewares[%d].name: empty", i, j))
			}
		}
	}
	return errors.Join(errs...)
}

// serviceMonitor is a Prometheus Operator ServiceMonitor.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector *struct {
			Any        bool     `json:"any"`
			MatchNames []string `json:"matchNames"`
		} `json:"namespaceSelector"`
		JobLabel  string `json:"jobLabel"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Scheme        string `json:"scheme"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
			HonorLabels   bool   `json:"honorLabels"`
		} `json:"endpoints"`
	} `json:"spec"`
}

func (s *serviceMonitor) validate() error {
	var errs []error
	if len(s.Spec.Selector.MatchLabels) == 0 && len(s.Spec.Selector.MatchExpressions) == 0 {
		errs = append(errs, errors.New("spec.selector: empty, would select every Service"))
	}
	if len(s.Spec.Endpoints) == 0 {
		errs = append(errs, errors.New("spec.endpoints: empty"))
	}
	for i, e := range s.Spec.Endpoints {
		if e.Port == "" {
			errs = append(errs, fmt.Errorf("spec.endpoints[%d].port: empty", i))
		}
	}
	return errors.Join(errs...)
}
