// Package integration holds black-box tests that start the real service
// (internal/app) on a loopback port against a real PostgreSQL database and a
// real HTTP policy server that speaks Arborist's API (policy/policytest),
// and drive it over HTTP.
package integration
