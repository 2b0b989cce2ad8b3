// Package check holds the deploy kit's manifest checks: it renders the Helm chart in
// deploy/helm/tokengate with helm for every values file in testdata/ and every example's
// tokengate-values.yaml, and strictly decodes each rendered and example manifest into its
// k8s.io/api type, so an unknown or misspelt field fails `make test` instead of a rollout.
// Traefik objects are also validated against Traefik's own CRD schemas (testdata/traefik-crds,
// see crdschema_test.go).
//
// It is its own Go module so that k8s.io dependencies stay out of tokengate's module. The
// code is all in tests; this file only documents the package.
//
// Why config.yaml is checked against deploy/config.example.yaml: tokengate's strict config
// loader lives in an internal package, which another module cannot import, and tokengate has
// no "check config" command (starting the server to validate a file would be a test that
// listens and waits). config.example.yaml documents every key and is itself loaded strictly by
// the main module's tests, so every key path the chart renders must exist there, with the
// same shape (map, list or scalar).
package check
