package policy

// CacheKeys exposes the keys currently held by a Cached, for tests.
func CacheKeys(c *Cached) []string {
	items := c.cache.Items()
	out := make([]string, 0, len(items))
	for k := range items {
		out = append(out, k)
	}
	return out
}
