// Package testfix holds the fixtures that tests of several packages share: a clock tests
// move instead of sleeping, self-signed certificates, signed JWTs and the federated tokens
// of workload identity. It is for tests only (internal/archtest keeps it out of every
// program) and imports no other tokengate package, so the development provider's tests can
// use it without sharing tokengate's code.
package testfix
