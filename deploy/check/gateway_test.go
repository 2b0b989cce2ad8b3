package check

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The Gateway API and Envoy Gateway types below model the fields the examples use, named as
// in gateway.networking.k8s.io v1/v1beta1 and gateway.envoyproxy.io/v1alpha1, decoded
// strictly like the Traefik types in crd_test.go.

// objectRef is a Gateway API reference (parentRefs, backendRefs, targetRefs, extensionRef,
// certificateRefs).
type objectRef struct {
	Group       *string `json:"group"`
	Kind        *string `json:"kind"`
	Name        string  `json:"name"`
	Namespace   *string `json:"namespace"`
	SectionName *string `json:"sectionName"`
	Port        *int32  `json:"port"`
	Weight      *int32  `json:"weight"`
}

// gatewayClass is a Gateway API GatewayClass.
type gatewayClass struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ControllerName string `json:"controllerName"`
	} `json:"spec"`
}

func (c *gatewayClass) validate() error {
	if c.Spec.ControllerName == "" {
		return errors.New("spec.controllerName is required")
	}
	return nil
}

// gateway is a Gateway API Gateway with HTTP(S) listeners.
type gateway struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		GatewayClassName string `json:"gatewayClassName"`
		Listeners        []struct {
			Name     string  `json:"name"`
			Protocol string  `json:"protocol"`
			Port     int32   `json:"port"`
			Hostname *string `json:"hostname"`
			TLS      *struct {
				Mode            *string     `json:"mode"`
				CertificateRefs []objectRef `json:"certificateRefs"`
			} `json:"tls"`
			AllowedRoutes *struct {
				Namespaces *struct {
					From string `json:"from"`
				} `json:"namespaces"`
			} `json:"allowedRoutes"`
		} `json:"listeners"`
	} `json:"spec"`
}

func (g *gateway) validate() error {
	if g.Spec.GatewayClassName == "" || len(g.Spec.Listeners) == 0 {
		return errors.New("spec.gatewayClassName and listeners are required")
	}
	var errs []error
	for i, l := range g.Spec.Listeners {
		if l.Protocol == "HTTPS" && (l.TLS == nil || len(l.TLS.CertificateRefs) == 0) {
			errs = append(errs, fmt.Errorf("spec.listeners[%d]: HTTPS needs tls.certificateRefs", i))
		}
	}
	return errors.Join(errs...)
}

// httpRoute is a Gateway API HTTPRoute without matches; of the filters, only ExtensionRef
// (Traefik's way to attach a Middleware) is modelled.
type httpRoute struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ParentRefs []objectRef `json:"parentRefs"`
		Hostnames  []string    `json:"hostnames"`
		Rules      []struct {
			Filters []struct {
				Type         string     `json:"type"`
				ExtensionRef *objectRef `json:"extensionRef"`
			} `json:"filters"`
			BackendRefs []objectRef `json:"backendRefs"`
		} `json:"rules"`
	} `json:"spec"`
}

func (r *httpRoute) validate() error {
	var errs []error
	if len(r.Spec.ParentRefs) == 0 || len(r.Spec.Hostnames) == 0 || len(r.Spec.Rules) == 0 {
		errs = append(errs, errors.New("spec.parentRefs, hostnames and rules are required"))
	}
	for i, rule := range r.Spec.Rules {
		for j, f := range rule.Filters {
			if f.Type != "ExtensionRef" || f.ExtensionRef == nil || f.ExtensionRef.Group == nil || f.ExtensionRef.Kind == nil {
				errs = append(errs, fmt.Errorf("spec.rules[%d].filters[%d]: want an ExtensionRef with group and kind", i, j))
			}
		}
	}
	return errors.Join(errs...)
}

// middlewares are the names of the Traefik Middlewares a rule of the route attaches with an
// ExtensionRef filter.
func (r *httpRoute) middlewares() []string {
	var names []string
	for _, rule := range r.Spec.Rules {
		for _, f := range rule.Filters {
			if ref := f.ExtensionRef; ref != nil && *ref.Group == "traefik.io" && *ref.Kind == "Middleware" {
				names = append(names, ref.Name)
			}
		}
	}
	return names
}

// securityPolicy is Envoy Gateway's SecurityPolicy; only extAuth over HTTP is modelled.
type securityPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		TargetRefs []objectRef `json:"targetRefs"`
		ExtAuth    *struct {
			HTTP *struct {
				BackendRefs      []objectRef `json:"backendRefs"`
				Path             string      `json:"path"`
				HeadersToBackend []string    `json:"headersToBackend"`
			} `json:"http"`
			HeadersToExtAuth []string `json:"headersToExtAuth"`
			FailOpen         *bool    `json:"failOpen"`
		} `json:"extAuth"`
	} `json:"spec"`
}

// validate checks what tokengate's envoy mode needs: path /auth (the prefix it strips), the
// session cookie sent to it, and the token passed on.
func (p *securityPolicy) validate() error {
	ea := p.Spec.ExtAuth
	if ea == nil || ea.HTTP == nil {
		return errors.New("spec.extAuth.http missing")
	}
	var errs []error
	if ea.HTTP.Path != "/auth" {
		errs = append(errs, fmt.Errorf("spec.extAuth.http.path = %q; tokengate's envoy mode expects /auth", ea.HTTP.Path))
	}
	if !slices.Contains(lower(ea.HeadersToExtAuth), "cookie") {
		errs = append(errs, errors.New("spec.extAuth.headersToExtAuth: cookie missing, tokengate would never see the session"))
	}
	if !slices.Contains(lower(ea.HTTP.HeadersToBackend), "authorization") {
		errs = append(errs, errors.New("spec.extAuth.http.headersToBackend: authorization missing"))
	}
	if ea.FailOpen != nil && *ea.FailOpen {
		errs = append(errs, errors.New("spec.extAuth.failOpen: true lets every request through while tokengate is down"))
	}
	if len(ea.HTTP.BackendRefs) != 1 || len(p.Spec.TargetRefs) == 0 {
		errs = append(errs, errors.New("want one backendRef and at least one targetRef"))
	}
	return errors.Join(errs...)
}

// referenceGrant is a Gateway API ReferenceGrant.
type referenceGrant struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		From []objectRef `json:"from"`
		To   []objectRef `json:"to"`
	} `json:"spec"`
}

func (g *referenceGrant) validate() error {
	if len(g.Spec.From) == 0 || len(g.Spec.To) == 0 {
		return errors.New("spec.from and spec.to are required")
	}
	return nil
}

func lower(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strings.ToLower(s)
	}
	return out
}
