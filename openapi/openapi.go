// Package openapi embeds the service's OpenAPI 3 document (openapi.yaml),
// which the running service serves at /openapi.yaml and the tests check
// real responses and the router against.
package openapi

import _ "embed"

// Document is openapi.yaml.
//
//go:embed openapi.yaml
var Document []byte
