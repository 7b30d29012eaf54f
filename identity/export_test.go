package identity

// VerifiedCount exposes the size of the verified-credentials cache to tests.
func VerifiedCount(a *Authenticator) int { return a.verified.ItemCount() }
