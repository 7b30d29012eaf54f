package identity

import (
	"github.com/datacommons/indexd/boundedcache"
	"github.com/datacommons/indexd/policy"
)

// VerifiedCount exposes the size of the verified-credentials cache to tests.
func VerifiedCount(a *Authenticator) int { return a.verified.Stats().Entries }

// BoundVerified replaces the verified-credentials cache with one of the
// given bounds, so tests can flood it.
func BoundVerified(a *Authenticator, entries int, bytes int64) {
	a.verified = boundedcache.New[policy.Caller](boundedcache.Options{TTL: verifiedTTL, MaxEntries: entries, MaxBytes: bytes})
}

// VerifiedStats exposes the verified-credentials cache's size and bounds.
func VerifiedStats(a *Authenticator) boundedcache.Stats { return a.verified.Stats() }
