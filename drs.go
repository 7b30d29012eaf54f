package indexd

import (
	"sort"
	"strings"
)

// drsAccessTypes maps a URL scheme to its GA4GH DRS 1.5 AccessMethod type.
// The DRS enum has no "http": plain-http URLs are listed as type "https"
// (with their real http:// URL). Schemes not listed here (az://, abfss://,
// …) have no DRS type.
var drsAccessTypes = map[string]string{
	"s3": "s3", "gs": "gs", "https": "https", "http": "https", "ftp": "ftp",
	"file": "file", "gsiftp": "gsiftp", "globus": "globus", "htsget": "htsget",
}

// DRSAccessType returns the DRS AccessMethod type of a URL scheme (lower
// case), and false when the scheme has none.
func DRSAccessType(scheme string) (string, bool) {
	t, ok := drsAccessTypes[scheme]
	return t, ok
}

// DRSSchemes lists the URL schemes that have a DRS access type, sorted.
func DRSSchemes() []string {
	out := make([]string, 0, len(drsAccessTypes))
	for s := range drsAccessTypes {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// URLScheme is the lower-cased scheme of a stored URL: what precedes the
// first "://", or "" when there is none (or it is empty). The repository's
// SQL form of the DRS object rule uses the same definition.
func URLScheme(u string) string {
	i := strings.Index(u, "://")
	if i <= 0 {
		return ""
	}
	return strings.ToLower(u[:i])
}

// IsDRSObject reports whether a record is a GA4GH DRS object (a single
// blob): it has a size, at least one checksum, and at least one URL whose
// scheme has a DRS access type, since DRS requires access_methods for
// blobs. A blank record (an upload in progress) has none of these yet; a
// record whose URLs are all of other schemes (az://, …) cannot be fetched
// through DRS. ListFilter.OnlyObjects is the same rule in SQL.
func (r *Record) IsDRSObject() bool {
	// Stored hash values are never empty (ValidateHash), so "some hash" is
	// "hashes is not {}", as in the SQL form.
	return r.Size != nil && !r.Hashes.IsEmpty() && r.HasDRSURL()
}

// HasDRSURL reports whether some URL of the record has a DRS access type.
func (r *Record) HasDRSURL() bool {
	for _, u := range r.URLs {
		if _, ok := drsAccessTypes[URLScheme(u)]; ok {
			return true
		}
	}
	return false
}
