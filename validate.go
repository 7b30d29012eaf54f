package indexd

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

var hashPatterns = map[string]*regexp.Regexp{
	"md5":    regexp.MustCompile(`^[0-9a-f]{32}$`),
	"sha1":   regexp.MustCompile(`^[0-9a-f]{40}$`),
	"sha256": regexp.MustCompile(`^[0-9a-f]{64}$`),
	"sha512": regexp.MustCompile(`^[0-9a-f]{128}$`),
	"crc":    regexp.MustCompile(`^[0-9a-f]{8}$`),
	"etag":   regexp.MustCompile(`^[0-9a-f]{32}(-[0-9]+)?$`),
}

// HashTypes lists the accepted hash types, sorted.
func HashTypes() []string {
	out := make([]string, 0, len(hashPatterns))
	for k := range hashPatterns {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ValidateHash checks one hash value against the format of its type.
func ValidateHash(typ, value string) error {
	re, ok := hashPatterns[typ]
	if !ok {
		return Invalidf("hash type %q is not supported (use one of %s)", typ, strings.Join(HashTypes(), ", "))
	}
	if !re.MatchString(value) {
		return Invalidf("hash %s value %q is malformed", typ, value)
	}
	return nil
}

// ValidateHashes checks every hash; required demands at least one.
func ValidateHashes(h map[string]string, required bool) error {
	if required && len(h) == 0 {
		return Invalidf("hashes must hold at least one of %s", strings.Join(HashTypes(), ", "))
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := ValidateHash(k, h[k]); err != nil {
			return err
		}
	}
	return nil
}

// ParseHashTerm parses a "type:value" list filter.
func ParseHashTerm(s string) (KV, error) {
	typ, val, ok := strings.Cut(s, ":")
	if !ok {
		return KV{}, Invalidf("hash filter %q must be type:value", s)
	}
	if err := ValidateHash(typ, val); err != nil {
		return KV{}, err
	}
	return KV{typ, val}, nil
}

var reservedSegments = map[string]bool{"versions": true, "latest": true, "aliases": true}

// ValidateID checks a did, alias or baseid: 1..256 bytes of printable ASCII
// without spaces or URL-special characters; "/" separates non-empty segments,
// none of which may be a route word (versions, latest, aliases), and the
// first of which may not be "blank" (/index/blank/{id} is the blank-record
// route, so /index/blank/x could never reach a record "blank/x").
func ValidateID(id string) error {
	if id == "" {
		return Invalidf("id must not be empty")
	}
	if len(id) > MaxIDLength {
		return Invalidf("id is longer than %d bytes", MaxIDLength)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("._~:@+=-/", c) >= 0
		if !ok {
			return Invalidf("id %q contains a character that is not allowed (%q)", safeShow(id), c)
		}
	}
	for i, seg := range strings.Split(id, "/") {
		if i == 0 && seg == "blank" {
			return Invalidf("id %q may not start with the reserved segment \"blank\"", id)
		}
		if seg == "" {
			return Invalidf("id %q has an empty path segment", id)
		}
		if seg == "." || seg == ".." {
			return Invalidf("id %q has a relative path segment", id)
		}
		if reservedSegments[seg] {
			return Invalidf("id %q contains the reserved segment %q", id, seg)
		}
	}
	return nil
}

// ValidateAlias checks an alias with the rules of ValidateID. Aliases may
// hold "/" (ADD_PREFIX_ALIAS makes "dg.XXXX/<did>"): no segment may be a
// route word, so /index/{id}/aliases/{alias} still splits unambiguously.
func ValidateAlias(a string) error {
	if err := ValidateID(a); err != nil {
		return Invalidf("alias: %s", Message(err))
	}
	return nil
}

func safeShow(s string) string {
	if !utf8.ValidString(s) {
		return strings.ToValidUTF8(s, "?")
	}
	return s
}

// Byte limits of indexed values. A btree index entry holds at most 2704
// bytes (PostgreSQL: a third of a page); longer values would fail in the
// database (SQLSTATE 54000). urls (record_url primary key, with the did),
// acl entries (GIN), file_name, version and uploader (btree with the did)
// stay within MaxIndexedText. An authz path is indexed twice in one entry of
// authz_set_prefix (the path and its prefix), and the whole canonical authz
// list is one key of authz_set's unique index: hence the tighter path and
// list limits.
const (
	MaxIndexedText   = 2048
	MaxAuthzPathLen  = 1024
	MaxAuthzPaths    = 64
	MaxAuthzListSize = 2048
	maxListEntries   = 1000
)

// ValidateText checks one string value: valid UTF-8 without NUL bytes (the
// database stores neither). field names the value in the message.
func ValidateText(field, s string) error {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return Invalidf("%s must be valid UTF-8 text without NUL bytes", field)
	}
	return nil
}

// validateOptText checks an optional string field: text, at most max bytes
// (0: unbounded).
func validateOptText(field string, s *string, maxLen int) error {
	if s == nil {
		return nil
	}
	if err := ValidateText(field, *s); err != nil {
		return err
	}
	if maxLen > 0 && len(*s) > maxLen {
		return Invalidf("%s is longer than %d bytes", field, maxLen)
	}
	return nil
}

// ValidateTextMap checks every key and value of a string map (metadata).
func ValidateTextMap(field string, m map[string]string) error {
	for _, k := range sortedKeys(m) {
		if err := ValidateText(field+" key "+strconv.Quote(k), k); err != nil {
			return err
		}
		if err := ValidateText(field+" value of "+strconv.Quote(k), m[k]); err != nil {
			return err
		}
	}
	return nil
}

// ValidateNestedTextMap checks urls_metadata: every url key, and every key
// and value of each url's map.
func ValidateNestedTextMap(field string, m map[string]map[string]string) error {
	for _, k := range sortedKeys(m) {
		if err := ValidateText(field+" key "+strconv.Quote(k), k); err != nil {
			return err
		}
		if err := ValidateTextMap(field+"["+strconv.Quote(k)+"]", m[k]); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ValidateStrings checks a list of strings (urls, acl): at most 1000
// entries, each non-empty text of at most MaxIndexedText bytes.
func ValidateStrings(field string, list []string) error {
	return validateList(field, list, MaxIndexedText)
}

func validateList(field string, list []string, maxLen int) error {
	if len(list) > maxListEntries {
		return Invalidf("%s holds more than %d entries", field, maxListEntries)
	}
	for _, s := range list {
		if s == "" {
			return Invalidf("%s must not contain empty strings", field)
		}
		if err := ValidateText(field+" entry", s); err != nil {
			return err
		}
		if len(s) > maxLen {
			return Invalidf("%s entry is longer than %d bytes", field, maxLen)
		}
	}
	return nil
}

// ValidateAuthz checks resource paths: each starts with "/", has no empty
// segment (Arborist rejects "//" and trailing slashes) and is at most
// MaxAuthzPathLen bytes.
func ValidateAuthz(list []string) error {
	if err := validateList("authz", list, MaxAuthzPathLen); err != nil {
		return err
	}
	for _, p := range list {
		if !strings.HasPrefix(p, "/") {
			return Invalidf("authz path %q must start with '/'", p)
		}
		if p != "/" && (strings.HasSuffix(p, "/") || strings.Contains(p, "//")) {
			return Invalidf("authz path %q has an empty segment", p)
		}
	}
	return nil
}

// ValidateRecordAuthz checks a record's authz list: ValidateAuthz, and the
// list as a whole stays indexable (at most MaxAuthzPaths paths of at most
// MaxAuthzListSize bytes together).
func ValidateRecordAuthz(list []string) error {
	if err := ValidateAuthz(list); err != nil {
		return err
	}
	if len(list) > MaxAuthzPaths {
		return Invalidf("authz holds more than %d paths", MaxAuthzPaths)
	}
	total := 0
	for _, p := range list {
		total += len(p)
	}
	if total > MaxAuthzListSize {
		return Invalidf("authz paths are longer than %d bytes together", MaxAuthzListSize)
	}
	return nil
}

// ValidateURLsMetadata checks that every urls_metadata key is one of urls.
func ValidateURLsMetadata(urls []string, um map[string]map[string]string) error {
	if err := ValidateNestedTextMap("urls_metadata", um); err != nil {
		return err
	}
	set := make(map[string]bool, len(urls))
	for _, u := range urls {
		set[u] = true
	}
	for _, k := range sortedKeys(um) {
		if !set[k] {
			return Invalidf("urls_metadata key %q is not one of urls", k)
		}
	}
	return nil
}

// ValidateNew checks a record to create. blank relaxes form/size/hashes/urls.
func ValidateNew(n *NewRecord, blank bool) error {
	if n.DID != "" {
		if err := ValidateID(n.DID); err != nil {
			return err
		}
	}
	if n.BaseID != "" {
		if err := ValidateID(n.BaseID); err != nil {
			return Invalidf("baseid: %s", Message(err))
		}
	}
	if !blank {
		if n.Form == nil {
			return Invalidf("form is required (object, container or multipart)")
		}
		if n.Size == nil {
			return Invalidf("size is required")
		}
		if n.URLs == nil {
			return Invalidf("urls is required")
		}
	}
	if n.Form != nil {
		switch *n.Form {
		case FormObject, FormContainer, FormMultipart:
		default:
			return Invalidf("form %q must be object, container or multipart", *n.Form)
		}
	}
	if n.Size != nil && *n.Size < 0 {
		return Invalidf("size must be >= 0")
	}
	if n.ContentUpdatedDate != nil && n.ContentCreatedDate == nil {
		return Invalidf("content_updated_date needs content_created_date")
	}
	if err := ValidateHashes(n.Hashes, !blank); err != nil {
		return err
	}
	if err := validateTextFields(n.FileName, n.Version, n.Uploader, n.Description, n.Metadata); err != nil {
		return err
	}
	return validateCommon(n.URLs, n.URLsMetadata, n.ACL, n.Authz, n.ContentCreatedDate, n.ContentUpdatedDate)
}

// ValidateUpdate checks an update against the record it applies to.
func ValidateUpdate(u *RecordUpdate, current *Record) error {
	urls := current.URLs
	if u.URLs != nil {
		urls = *u.URLs
	}
	um := map[string]map[string]string{}
	if u.URLsMetadata != nil {
		um = *u.URLsMetadata
	}
	var acl, authz []string
	if u.ACL != nil {
		acl = *u.ACL
	}
	if u.Authz != nil {
		authz = *u.Authz
	}
	if u.Size != nil && *u.Size < 0 {
		return Invalidf("size must be >= 0")
	}
	if u.Hashes != nil {
		if err := ValidateHashes(*u.Hashes, false); err != nil {
			return err
		}
	}
	var md map[string]string
	if u.Metadata != nil {
		md = *u.Metadata
	}
	if err := validateTextFields(u.FileName, u.Version, u.Uploader, u.Description, md); err != nil {
		return err
	}
	cc, cu := current.ContentCreatedDate, current.ContentUpdatedDate
	if u.ContentCreatedDate != nil {
		cc = u.ContentCreatedDate
	}
	if u.ContentUpdatedDate != nil {
		cu = u.ContentUpdatedDate
	}
	return validateCommon(urls, um, acl, authz, cc, cu)
}

func validateCommon(urls []string, um map[string]map[string]string, acl, authz []string, cc, cu *time.Time) error {
	if cc != nil && cu != nil && cu.Before(*cc) {
		return Invalidf("content_updated_date must not be before content_created_date")
	}
	if err := ValidateStrings("urls", urls); err != nil {
		return err
	}
	if err := ValidateStrings("acl", acl); err != nil {
		return err
	}
	if err := ValidateRecordAuthz(authz); err != nil {
		return err
	}
	return ValidateURLsMetadata(urls, um)
}

// validateTextFields checks the free-text fields of a record: text, and the
// indexed ones (file_name, version, uploader) at most MaxIndexedText bytes.
func validateTextFields(fileName, version, uploader, description *string, metadata map[string]string) error {
	if err := validateOptText("file_name", fileName, MaxIndexedText); err != nil {
		return err
	}
	if err := validateOptText("version", version, MaxIndexedText); err != nil {
		return err
	}
	if err := validateOptText("uploader", uploader, MaxIndexedText); err != nil {
		return err
	}
	if err := validateOptText("description", description, 0); err != nil {
		return err
	}
	return ValidateTextMap("metadata", metadata)
}

// ValidateNegation checks negate_params: every string is text, every hash
// well formed. Messages name the field under negate_params.
func ValidateNegation(n *Negation) error {
	for _, f := range []struct {
		name string
		v    *string
	}{{"negate_params file_name", n.FileName}, {"negate_params version", n.Version}} {
		if err := validateOptText(f.name, f.v, 0); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name string
		list []string
	}{{"negate_params urls", n.URLs}, {"negate_params acl", n.ACL}, {"negate_params authz", n.Authz}} {
		for _, s := range f.list {
			if err := ValidateText(f.name+" entry", s); err != nil {
				return err
			}
		}
	}
	for _, k := range sortedKeys(n.Hashes) {
		if err := ValidateHash(k, n.Hashes[k]); err != nil {
			return Invalidf("negate_params: %s", Message(err))
		}
	}
	if err := ValidateTextMap("negate_params metadata", n.Metadata); err != nil {
		return err
	}
	return ValidateNestedTextMap("negate_params urls_metadata", n.URLsMetadata)
}
