package identity

import (
	"errors"
	"strings"

	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/datacommons/indexd/policy"
)

// Reason says why a request is unauthenticated, for the 401's body and
// challenge (issue 10). It never holds any part of the credential.
type Reason string

// Reasons of a 401.
const (
	// ReasonMissing: no credential where one is required.
	ReasonMissing Reason = "missing"
	// ReasonExpired: a token past its exp.
	ReasonExpired Reason = "expired"
	// ReasonBadSignature: a token whose signature does not verify (or
	// whose key is unknown).
	ReasonBadSignature Reason = "bad signature"
	// ReasonUnknownToPolicy: the policy service rejected the credential.
	ReasonUnknownToPolicy Reason = "unknown to the policy service"
	// ReasonMalformed: a header or token that cannot be read.
	ReasonMalformed Reason = "malformed"
	// ReasonInvalid: any other rejection (claims, wrong password, unknown
	// user, unsupported scheme).
	ReasonInvalid Reason = "invalid"
)

// ReasonOf classifies an authentication failure; "" when err is none.
// missing is the reason of a failure without a credential.
func ReasonOf(err error, credentialGiven bool) Reason {
	if err == nil {
		return ""
	}
	if !credentialGiven {
		return ReasonMissing
	}
	switch {
	case errors.Is(err, policy.ErrBadToken):
		return ReasonUnknownToPolicy
	case errors.Is(err, jwt.TokenExpiredError()):
		return ReasonExpired
	case errors.Is(err, jws.VerificationError()), errors.Is(err, jws.VerifyError()):
		return ReasonBadSignature
	case errors.Is(err, ErrUnauthenticated) && strings.Contains(err.Error(), "malformed"):
		return ReasonMalformed
	}
	return ReasonInvalid
}

// Description is a short RFC 6750 error_description of r.
func (r Reason) Description() string {
	switch r {
	case ReasonExpired:
		return "the token has expired"
	case ReasonBadSignature:
		return "the token signature does not verify"
	case ReasonUnknownToPolicy:
		return "the credential is unknown to the policy service"
	case ReasonMalformed:
		return "the credential is malformed"
	case ReasonMissing:
		return "a credential is required"
	}
	return "the credential is not valid"
}
