package policy

// CacheKeys exposes the keys currently held by a Cached, for tests.
func CacheKeys(c *Cached) []string {
	return c.cache.Keys()
}
