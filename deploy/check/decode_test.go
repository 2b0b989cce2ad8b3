package check

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// manifest is one decoded YAML document.
type manifest struct {
	// Source names the file and document, for failure messages.
	Source string
	// Kind is "apiVersion/kind", e.g. "apps/v1/Deployment".
	Kind string
	// Object is the typed object: a k8s.io/api type or one of the CRD structs below.
	Object metav1.Object
}

// validator is implemented by the CRD structs: strict decoding proves the field names, this
// proves the fields the controller requires are there.
type validator interface {
	validate() error
}

// decoders maps "apiVersion/kind" to a fresh object of its type. A kind missing here fails the
// check, so a new template or example kind cannot slip through undecoded.
var decoders = map[string]func() metav1.Object{
	"v1/ConfigMap":                                     func() metav1.Object { return &corev1.ConfigMap{} },
	"v1/Secret":                                        func() metav1.Object { return &corev1.Secret{} },
	"v1/Service":                                       func() metav1.Object { return &corev1.Service{} },
	"v1/ServiceAccount":                                func() metav1.Object { return &corev1.ServiceAccount{} },
	"v1/Namespace":                                     func() metav1.Object { return &corev1.Namespace{} },
	"apps/v1/Deployment":                               func() metav1.Object { return &appsv1.Deployment{} },
	"policy/v1/PodDisruptionBudget":                    func() metav1.Object { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/Ingress":                     func() metav1.Object { return &networkingv1.Ingress{} },
	"monitoring.coreos.com/v1/ServiceMonitor":          func() metav1.Object { return &serviceMonitor{} },
	"traefik.io/v1alpha1/Middleware":                   func() metav1.Object { return &middleware{} },
	"traefik.io/v1alpha1/IngressRoute":                 func() metav1.Object { return &ingressRoute{} },
	"networking.k8s.io/v1/NetworkPolicy":               func() metav1.Object { return &networkingv1.NetworkPolicy{} },
	"monitoring.coreos.com/v1/PrometheusRule":          func() metav1.Object { return &prometheusRule{} },
	"gateway.networking.k8s.io/v1/GatewayClass":        func() metav1.Object { return &gatewayClass{} },
	"gateway.networking.k8s.io/v1/Gateway":             func() metav1.Object { return &gateway{} },
	"gateway.networking.k8s.io/v1/HTTPRoute":           func() metav1.Object { return &httpRoute{} },
	"gateway.networking.k8s.io/v1beta1/ReferenceGrant": func() metav1.Object { return &referenceGrant{} },
	"gateway.envoyproxy.io/v1alpha1/SecurityPolicy":    func() metav1.Object { return &securityPolicy{} },
	"autoscaling/v2/HorizontalPodAutoscaler":           func() metav1.Object { return &autoscalingv2.HorizontalPodAutoscaler{} },
}

// splitDocuments splits a YAML stream at its "---" separators.
func splitDocuments(data []byte) ([][]byte, error) {
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("split YAML stream: %w", err)
		}
		docs = append(docs, doc)
	}
}

// decodeAll strictly decodes every non-empty document of a YAML stream.
func decodeAll(source string, data []byte) ([]manifest, error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	var out []manifest
	var errs []error
	for i, doc := range docs {
		m, ok, err := decodeDocument(fmt.Sprintf("%s#%d", source, i), doc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			out = append(out, m)
		}
	}
	return out, errors.Join(errs...)
}

// decodeDocument decodes one document into its type with unknown and duplicate fields
// failing. ok is false for a document that holds nothing (only comments).
func decodeDocument(source string, doc []byte) (m manifest, ok bool, err error) {
	// YAMLToJSONStrict refuses duplicate keys, which plain YAML decoding lets the last win.
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return manifest{}, false, fmt.Errorf("%s: parse YAML: %w", source, err)
	}
	if string(bytes.TrimSpace(j)) == "null" {
		return manifest{}, false, nil
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(j, &tm); err != nil {
		return manifest{}, false, fmt.Errorf("%s: read apiVersion/kind: %w", source, err)
	}
	key := tm.APIVersion + "/" + tm.Kind
	newObject, known := decoders[key]
	if !known {
		return manifest{}, false, fmt.Errorf("%s: no decoder for %q: add its type to decoders in decode_test.go", source, key)
	}
	obj := newObject()
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		return manifest{}, false, fmt.Errorf("%s: decode %s strictly: %w", source, key, err)
	}
	if obj.GetName() == "" {
		return manifest{}, false, fmt.Errorf("%s: %s has no metadata.name", source, key)
	}
	if v, isCRD := obj.(validator); isCRD {
		if err := v.validate(); err != nil {
			return manifest{}, false, fmt.Errorf("%s: %s %s: %w", source, key, obj.GetName(), err)
		}
	}
	return manifest{Source: source, Kind: key, Object: obj}, true, nil
}

// byKind returns the decoded objects of one kind, in document order.
func byKind[T metav1.Object](ms []manifest) []T {
	var out []T
	for _, m := range ms {
		if o, ok := m.Object.(T); ok {
			out = append(out, o)
		}
	}
	return out
}
