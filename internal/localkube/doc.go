// Package localkube runs a real Kubernetes control plane on loopback: etcd and kube-apiserver
// built from modules (make kube puts them in bin/), a temporary directory, RBAC
// authorization, a client certificate in system:masters for the caller, and structured
// authentication (AuthenticationConfiguration) with JWT authenticators shaped like AKS's: the
// Entra v1 access-token issuer with the AKS server application as audience, and a non-Entra
// issuer mapped with CEL to the aks:jwt: prefix.
//
// The end-to-end tests start one cluster per test package and share it; `tokengate demo`
// starts one when the binaries are there, so its page shows what a real API server answered.
// Nothing here is for production: keys live in the temporary directory and etcd does not sync.
package localkube
