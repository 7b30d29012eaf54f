package api

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/datacommons/indexd"
)

// drsObject is a GA4GH DRS 1.5 DrsObject. Optional fields are omitted when
// absent: no DRS schema is nullable, so nothing here is ever null.
type drsObject struct {
	ID            string            `json:"id"`
	Name          string            `json:"name,omitempty"`
	SelfURI       string            `json:"self_uri"`
	Size          int64             `json:"size"`
	CreatedTime   string            `json:"created_time"`
	UpdatedTime   string            `json:"updated_time,omitempty"`
	Version       string            `json:"version,omitempty"`
	Checksums     []drsChecksum     `json:"checksums"`
	AccessMethods []drsAccessMethod `json:"access_methods"` // never empty: see IsDRSObject
	Description   string            `json:"description,omitempty"`
	Aliases       []string          `json:"aliases,omitempty"`
}

type drsChecksum struct {
	Checksum string `json:"checksum"`
	Type     string `json:"type"`
}

// drsAccessMethod is one way to fetch an object's bytes. access_id is always
// present; access_url only for public protocols (https, http, ftp); cloud,
// region and available only when known (drsLocation).
type drsAccessMethod struct {
	Type           string             `json:"type"`
	AccessID       string             `json:"access_id"`
	AccessURL      *drsAccessURL      `json:"access_url,omitempty"`
	Cloud          string             `json:"cloud,omitempty"`
	Region         string             `json:"region,omitempty"`
	Available      *bool              `json:"available,omitempty"`
	Authorizations *drsAuthorizations `json:"authorizations,omitempty"`
}

// drsAccessURL is a DRS AccessURL.
type drsAccessURL struct {
	URL string `json:"url"`
}

// drsAuthorizations is a DRS Authorizations object.
type drsAuthorizations struct {
	DrsObjectID       string   `json:"drs_object_id,omitempty"`
	SupportedTypes    []string `json:"supported_types"`
	BearerAuthIssuers []string `json:"bearer_auth_issuers,omitempty"`
}

// drsChecksumTypes maps indexd hash types to DRS checksum type names (IANA
// "Hash Name String" where one exists), in the order they are listed.
// indexd's "crc" is a CRC-32 (8 hex digits); it is reported as "crc32", not
// "crc32c": CRC-32C is a different polynomial and labelling it so would make
// client-side verification fail.
var drsChecksumTypes = []struct{ indexd, drs string }{
	{"sha256", "sha-256"},
	{"sha512", "sha-512"},
	{"sha1", "sha1"},
	{"md5", "md5"},
	{"crc", "crc32"},
	{"etag", "etag"},
}

// DRSChecksumType returns the DRS checksum type for an indexd hash type
// ("" when the type is not one indexd stores).
func DRSChecksumType(indexdType string) string {
	for _, t := range drsChecksumTypes {
		if t.indexd == indexdType {
			return t.drs
		}
	}
	return ""
}

// drsChecksums lists a record's hashes as DRS checksums, strongest first.
// The stored hashes always decode (they were validated as a map of strings
// when written); if they did not, the record would have no checksums and
// so not be served as a DRS object.
func drsChecksums(stored indexd.JSONObject) []drsChecksum {
	h, err := stored.StringMap()
	if err != nil {
		return nil
	}
	out := make([]drsChecksum, 0, len(h))
	for _, t := range drsChecksumTypes {
		if v, ok := h[t.indexd]; ok && v != "" {
			out = append(out, drsChecksum{Checksum: v, Type: t.drs})
		}
	}
	return out
}

// publicSchemes get their access_url inline; every other type needs the
// access endpoint (and read-storage).
var publicSchemes = map[string]bool{"https": true, "http": true, "ftp": true}

// drsMethod is an access method with the stored URL it stands for.
type drsMethod struct {
	drsAccessMethod
	url string
}

// drsMethods lists the record's access methods in URL order. access_id is
// the URL's scheme for its first URL of that scheme, then scheme-2,
// scheme-3, … — stable while the record's urls keep their order.
func drsMethods(urls []string) []drsMethod {
	out := make([]drsMethod, 0, len(urls))
	for _, u := range urls {
		scheme := indexd.URLScheme(u)
		typ, ok := indexd.DRSAccessType(scheme)
		if !ok {
			continue
		}
		n := 1 // this url's rank among the record's urls of its scheme
		for _, m := range out {
			if indexd.URLScheme(m.url) == scheme {
				n++
			}
		}
		id := scheme
		if n > 1 {
			id = scheme + "-" + strconv.Itoa(n)
		}
		m := drsMethod{drsAccessMethod: drsAccessMethod{Type: typ, AccessID: id}, url: u}
		if publicSchemes[scheme] {
			m.AccessURL = &drsAccessURL{URL: u}
		}
		out = append(out, m)
	}
	return out
}

// drsTime formats a timestamp in RFC 3339 (UTC).
func drsTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// toDRS maps a record to a DrsObject. host is the hostname for the
// hostname-based self URI. The caller checks IsDRSObject first.
func (s *Server) toDRS(r *indexd.Record, host string) drsObject {
	o := drsObject{
		ID:        r.DID,
		SelfURI:   s.selfURI(r.DID, host),
		Checksums: drsChecksums(r.Hashes),
	}
	if r.Size != nil {
		o.Size = *r.Size
	}
	created, updated := r.CreatedDate, r.UpdatedDate
	if r.ContentCreatedDate != nil {
		created = *r.ContentCreatedDate
	}
	if r.ContentUpdatedDate != nil {
		updated = *r.ContentUpdatedDate
	}
	o.CreatedTime, o.UpdatedTime = drsTime(created), drsTime(updated)
	if r.FileName != nil {
		o.Name = *r.FileName
	}
	if r.Version != nil {
		o.Version = *r.Version
	}
	if r.Description != nil {
		o.Description = *r.Description
	}
	if len(r.Aliases) > 0 {
		o.Aliases = append([]string(nil), r.Aliases...)
	}
	auth := s.accessAuthorizations()
	// Stored urls_metadata always decodes (validated when written); if it
	// did not, locations would come from the URLs alone.
	var urlsMetadata map[string]map[string]string
	if !r.URLsMetadata.IsEmpty() {
		urlsMetadata, _ = r.URLsMetadata.StringMaps()
	}
	for _, m := range drsMethods(r.URLs) {
		am := m.drsAccessMethod
		am.Cloud, am.Region, am.Available = drsLocation(m.url, urlsMetadata[m.url])
		am.Authorizations = auth
		if s.cfg.DRS12 {
			// DRS 1.2.0 AccessMethod: type, access_url, access_id, region;
			// the compliance suite refuses any other field.
			am.Cloud, am.Available, am.Authorizations = "", nil, nil
		}
		o.AccessMethods = append(o.AccessMethods, am)
	}
	return o
}

// urls_metadata keys that describe where a URL's bytes are (docs/drs.md).
const (
	metaCloud     = "cloud"
	metaRegion    = "region"
	metaAvailable = "available"
)

// drsLocation is what is known of where a URL's bytes live: the cloud from
// urls_metadata "cloud", else derived from the URL (s3:// → aws, gs:// →
// gcp, an https URL on a well-known storage host → that cloud); the region
// from urls_metadata "region"; availability from urls_metadata "available"
// ("true" or "false", any letter case; other values are ignored). Unknown
// values are "" / nil and left out of the DrsObject.
func drsLocation(u string, meta map[string]string) (cloud, region string, available *bool) {
	cloud = meta[metaCloud]
	if cloud == "" {
		cloud = cloudOf(u)
	}
	region = meta[metaRegion]
	switch strings.ToLower(meta[metaAvailable]) {
	case "true":
		available = new(bool)
		*available = true
	case "false":
		available = new(bool)
	}
	return cloud, region, available
}

// storageHosts are the big clouds' object-store hosts, for https:// and
// http:// URLs: a host matches its entry without the leading dot, or any
// host ending in the entry.
var storageHosts = []struct{ suffix, cloud string }{
	{".amazonaws.com", "aws"},
	{".storage.googleapis.com", "gcp"},
	{".storage.cloud.google.com", "gcp"},
	{".blob.core.windows.net", "azure"},
	{".dfs.core.windows.net", "azure"},
}

// cloudOf derives the cloud provider from a URL: by scheme for s3 and gs,
// by storage host for http(s); "" when it cannot be told.
func cloudOf(u string) string {
	switch indexd.URLScheme(u) {
	case "s3":
		return "aws"
	case "gs":
		return "gcp"
	case "https", "http":
		p, err := url.Parse(u)
		if err != nil {
			return ""
		}
		host := strings.ToLower(p.Hostname())
		for _, h := range storageHosts {
			if host == strings.TrimPrefix(h.suffix, ".") || strings.HasSuffix(host, h.suffix) {
				return h.cloud
			}
		}
	}
	return ""
}

// accessAuthorizations says how to authorize the access endpoint: a bearer
// token (from the configured issuer, when one is configured).
func (s *Server) accessAuthorizations() *drsAuthorizations {
	return &drsAuthorizations{SupportedTypes: []string{"BearerAuth"}, BearerAuthIssuers: s.cfg.DRSBearerIssuers}
}

// selfURI is the object's drs:// URI. With a compact prefix p configured,
// a did "p/<accession>" gets the compact form drs://p:<accession>, which a
// resolver turns into .../objects/p/<accession> through the URL pattern
// registered for p (docs/drs.md). Every other did — no prefix configured,
// or a did outside p/ — gets the hostname form drs://<host>/<percent-encoded
// did>: a compact URI for it would resolve to a different id.
func (s *Server) selfURI(did, host string) string {
	if p := s.cfg.DRSCompactPrefix; p != "" {
		if acc, ok := strings.CutPrefix(did, p+"/"); ok && acc != "" {
			return "drs://" + p + ":" + encodeAccession(acc)
		}
	}
	return "drs://" + host + "/" + EncodeDRSID(did)
}

// encodeAccession percent-encodes only what a compact accession needs: it
// keeps every URI path character (unreserved, sub-delims, ":" and "@" — all
// of the did alphabet but "/") and encodes "/" (so the accession stays one
// path segment when a resolver substitutes it into its URL pattern, and
// never reads as the "/access/" separator), "%" and anything else.
func encodeAccession(acc string) string {
	var b strings.Builder
	for i := 0; i < len(acc); i++ {
		c := acc[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteString(pctEncode(c))
	}
	return b.String()
}

func pctEncode(c byte) string {
	const hex = "0123456789ABCDEF"
	return string([]byte{'%', hex[c>>4], hex[c&15]})
}

// EncodeDRSID percent-encodes every byte outside the DRS id alphabet
// [A-Za-z0-9._~-] (so "/" becomes %2F and ":" %3A), as DRS requires for ids
// in hostname-based URIs and API paths.
func EncodeDRSID(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteString(pctEncode(c))
	}
	return b.String()
}

// drsTarget is objects/{object_id}[/access/{access_id}].
type drsTarget struct {
	ID       string
	AccessID string
	Access   bool
}

// ParseDRSTarget parses the rest of a path after /objects/, as the client
// sent it (still percent-encoded). The "/access/" separator is found before
// decoding, so an id sent percent-encoded (dg.1%2Fx%2Faccess%2Fy) is never
// mistaken for an access path. Exported for fuzzing; errors are ErrInvalid.
func ParseDRSTarget(raw string) (drsTarget, error) {
	var t drsTarget
	raw = strings.TrimSuffix(raw, "/")
	idRaw := raw
	if i := strings.LastIndex(raw, "/access/"); i >= 0 {
		idRaw, t.Access = raw[:i], true
		acc, err := url.PathUnescape(raw[i+len("/access/"):])
		if err != nil {
			return t, indexd.Invalidf("access_id is not validly percent-encoded")
		}
		if acc == "" || strings.Contains(acc, "/") || len(acc) > 64 {
			return t, indexd.Invalidf("access_id must be one non-empty path segment")
		}
		t.AccessID = acc
	} else if strings.HasSuffix(raw, "/access") {
		return t, indexd.Invalidf("access_id is required: objects/{object_id}/access/{access_id}")
	}
	id, err := url.PathUnescape(idRaw)
	if err != nil {
		return t, indexd.Invalidf("object_id is not validly percent-encoded")
	}
	if err := indexd.ValidateID(id); err != nil {
		return t, err
	}
	t.ID = id
	return t, nil
}

// ParseExpand parses the expand flag: exactly true or false, in any letter
// case (absent means false; 1, 0, yes and the empty string are 400).
// Bundles are not supported, so the flag changes nothing; it is still
// validated. openapi.yaml documents the same pattern.
func ParseExpand(v string, present bool) (bool, error) {
	if !present {
		return false, nil
	}
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, indexd.Invalidf("expand must be true or false (any letter case)")
}
