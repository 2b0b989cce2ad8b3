// Module gateway-api pins the Gateway API release whose CRDs the tests install: the one
// Traefik v3.7.9 is built against (its go.mod requires sigs.k8s.io/gateway-api v1.5.1). No
// code is built from it; the module's zip carries config/crd/standard/*.yaml, which
// internal/localkube reads from the module cache (go mod download), checked against go.sum.
// Nothing imports the module, so go mod tidy would drop the requirement: do not tidy.
module github.com/tokengate/tokengate/tools/gateway-api

go 1.26.8

require sigs.k8s.io/gateway-api v1.5.1
