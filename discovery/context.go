package discovery

// FromReads is the discovery context of a caller who holds read (service
// indexd or *) on reads, under st: the one builder of contexts. The HTTP
// layer uses it for every request (api.buildDiscoveryContext) and the
// explain package for the callers it explains, so an explanation is built
// from the very context a read would be filtered with.
//
// Holding read on any global discovery path (or on a path above one)
// discovers every record.
func FromReads(st Settings, reads []string) Context {
	dc := Context{Discoverable: st.AreRecordsDiscoverable, AuthorizedResources: reads}
	if _, _, ok := DiscoverAllVia(st.GlobalDiscoveryAuthz, reads); ok {
		dc.CanDiscoverAll = true
	}
	return dc
}

// DiscoverAllVia returns the first global discovery path (in the order of
// global) that some grant of reads covers, with that grant: the reason a
// caller discovers every record. ok is false when no grant covers any.
func DiscoverAllVia(global, reads []string) (grant, path string, ok bool) {
	for _, gp := range global {
		for _, g := range reads {
			if Covers(g, gp) {
				return g, gp, true
			}
		}
	}
	return "", "", false
}
