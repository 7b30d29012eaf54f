package api

// Fuzz targets for the parsers of untrusted input that sit behind the
// handlers: query strings, the DRS bulk and access bodies, the settings body
// and the blank, fill-blank, versions and alias bodies. Each body is decoded
// the way the handler decodes it (DecodeStrict, which decodeJSON runs after
// its content-type and size checks) and then checked by the same function
// the handler calls. No input may panic; every rejection is ErrInvalid
// (400) or, where the API says so, ErrTooLarge (413), with a message; every
// acceptance satisfies the rules written out again here.
//
// Seed corpora: testdata/fuzz/<FuzzName>/.

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/explain"
)

// mustBeRejection fails t unless err is one of kinds (ErrInvalid when none
// is given) and carries a message a caller can read.
func mustBeRejection(t *testing.T, what string, input any, err error, kinds ...error) {
	t.Helper()
	if len(kinds) == 0 {
		kinds = []error{indexd.ErrInvalid}
	}
	for _, k := range kinds {
		if errors.Is(err, k) {
			if indexd.Message(err) == "" {
				t.Fatalf("%s(%q): rejection %v has no message", what, input, err)
			}
			return
		}
	}
	t.Fatalf("%s(%q): error %v is not one of %v", what, input, err, kinds)
}

// queryOf parses a raw query the way Echo does for c.QueryParams()
// (url.URL.Query: malformed pairs are dropped, not fatal).
func queryOf(raw string) url.Values { return (&url.URL{RawQuery: raw}).Query() }

// okText is the text rule, restated: valid UTF-8 without NUL.
func okText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// okResourcePath is the authz path rule, restated: starts with "/", no
// empty segment unless it is "/" itself, text, bounded.
func okResourcePath(p string) bool {
	if p == "" || len(p) > indexd.MaxAuthzPathLen || !okText(p) || p[0] != '/' {
		return false
	}
	return p == "/" || !slices.Contains(strings.Split(p[1:], "/"), "")
}

// FuzzParseURLQuery: /_query/urls/q and /_query/urls/metadata/q.
func FuzzParseURLQuery(f *testing.F) {
	for _, s := range []string{
		"", "include=s3&exclude=gs&versioned=TRUE&limit=5&offset=10&fields=rev,did", "key=k&value=v&url=s3&versioned=false",
		"foo=1", "versioned=yes", "limit=1025", "limit=-1", "offset=-1", "offset=99999999999999999999", "fields=did,size",
		"fields=", "fields=,,", "include=%ff", "include=a%00b", "key=&value=v", "limit=+5", "limit=0x10", "a;b=c", "%zz=1",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, metadata bool) {
		q := queryOf(raw)
		uq, fields, err := ParseURLQuery(q, metadata)
		if err != nil {
			mustBeRejection(t, "ParseURLQuery", raw, err)
			return
		}
		allowed := urlQueryParams
		if metadata {
			allowed = urlMetadataQueryParams
		}
		for k, vs := range q {
			if !allowed[k] {
				t.Fatalf("accepted unknown parameter %q", k)
			}
			for _, v := range vs {
				if !utf8.ValidString(k+v) || strings.ContainsRune(k+v, 0) {
					t.Fatalf("accepted parameter %q=%q that is not UTF-8 text", k, v)
				}
			}
		}
		if uq.Limit < 0 || uq.Limit > indexd.MaxLimit || uq.Offset < 0 {
			t.Fatalf("accepted limit %d offset %d", uq.Limit, uq.Offset)
		}
		if metadata && (uq.Key == "" || uq.Value == "") {
			t.Fatalf("metadata query accepted without key and value: %+v", uq)
		}
		if (uq.Versioned != nil) != (q.Get("versioned") != "") {
			t.Fatalf("versioned %v from %q", uq.Versioned, q.Get("versioned"))
		}
		for _, fl := range fields {
			if fl != "did" && fl != "urls" && fl != "rev" {
				t.Fatalf("accepted field %q", fl)
			}
		}
	})
}

// FuzzParseURLList: GET /urls (indexd's /urls/). Only its five parameters
// are accepted, within their bounds.
func FuzzParseURLList(f *testing.F) {
	for _, s := range []string{
		"", "ids=a,b&limit=5&start=10", "hash=md5:0123456789abcdef0123456789abcdef&hash=md5:ffffffffffffffffffffffffffffffff", "size=12",
		"size=-1", "size=", "start=-1", "start=100001", "limit=1025", "authz=/a", "ids=" + strings.Repeat("i,", 1025), "hash=md5:x",
		"ids=%ff", "limit=0", "start=99999999999999999999", "ids=,,,",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q := queryOf(raw)
		lf, err := ParseURLList(q)
		if err != nil {
			mustBeRejection(t, "ParseURLList", raw, err)
			return
		}
		for k, vs := range q {
			if !urlListParams[k] {
				t.Fatalf("accepted unknown parameter %q", k)
			}
			for _, v := range vs {
				if !okText(k) || !okText(v) {
					t.Fatalf("accepted parameter %q=%q that is not text", k, v)
				}
			}
		}
		if lf.Limit < 0 || lf.Limit > indexd.MaxLimit || lf.Offset < 0 || lf.Offset > indexd.MaxOffset || (lf.Size != nil && *lf.Size < 0) || len(lf.IDs) > indexd.MaxBulkIDs {
			t.Fatalf("accepted out-of-range filter %+v", lf)
		}
		seen := map[string]bool{}
		for _, h := range lf.Hashes {
			if indexd.ValidateHash(h.Key, h.Value) != nil || seen[h.Key] {
				t.Fatalf("accepted hashes %+v", lf.Hashes)
			}
			seen[h.Key] = true
		}
	})
}

// FuzzParseExpand: the DRS expand parameter is true or false (any letter
// case) or absent.
func FuzzParseExpand(f *testing.F) {
	for _, s := range []string{"", "true", "TRUE", "1", "0", "false", "yes", "tru", "\x00", "İ", "true "} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, v string, present bool) {
		got, err := ParseExpand(v, present)
		lower := strings.ToLower(v)
		wantTrue, wantFalse := lower == "true", lower == "false"
		switch {
		case !present:
			if got || err != nil {
				t.Fatalf("absent expand: %v %v", got, err)
			}
		case wantTrue || wantFalse:
			if err != nil || got != wantTrue {
				t.Fatalf("ParseExpand(%q) = %v, %v", v, got, err)
			}
		default:
			if err == nil {
				t.Fatalf("ParseExpand(%q) accepted", v)
			}
			mustBeRejection(t, "ParseExpand", v, err)
		}
	})
}

// FuzzDRSBodies: POST/OPTIONS /objects (bulk ids), POST /objects/access
// (bulk access) and POST /objects/{id} (passports) bodies, against a
// maxBulkRequestLength small enough for the fuzzer to reach (413 beyond).
func FuzzDRSBodies(f *testing.F) {
	for _, s := range []string{
		`{"bulk_object_ids": ["a", "b", "a"]}`, `{"bulk_object_ids": []}`, `{"bulk_object_ids": null}`, `{}`,
		`{"bulk_object_ids": ["a"], "passports": ["p"]}`, `{"bulk_object_ids": ["a"], "passports": [""]}`,
		`{"bulk_object_ids": ["a","b","c","d","e","f","g","h","i"]}`, `{"bulk_object_ids": "a"}`, `{"bulk_object_ids": [1]}`,
		`{"bulk_object_access_ids": [{"bulk_object_id": "a", "bulk_access_ids": ["s3"]}]}`,
		`{"bulk_object_access_ids": [{"bulk_object_id": "", "bulk_access_ids": ["s3"]}]}`,
		`{"bulk_object_access_ids": [{"bulk_object_id": "a", "bulk_access_ids": []}]}`,
		`{"bulk_object_access_ids": [{"bulk_object_id": "a", "bulk_access_ids": ["1","2","3","4","5","6","7","8","9"]}]}`,
		`{"bulk_object_access_ids": [null]}`, `{"expand": true, "passports": ["x"]}`, `{"expand": "yes"}`,
		`[]`, `null`, "", "{\"passports\": [\"\xff\"]}", `{"bulk_object_ids": ["a"]} {}`,
	} {
		f.Add([]byte(s), true, uint8(4))
		f.Add([]byte(s), false, uint8(0))
	}
	f.Fuzz(func(t *testing.T, body []byte, allowPassports bool, maxRaw uint8) {
		maxBulk := 1 + int(maxRaw%8)

		var b bulkIDsBody
		if err := DecodeStrict(body, &b); err != nil {
			mustBeRejection(t, "DecodeStrict bulk ids", body, err)
		} else if ids, err := b.ids(allowPassports, maxBulk); err != nil {
			mustBeRejection(t, "bulk ids", body, err, indexd.ErrInvalid, indexd.ErrTooLarge)
			if errors.Is(err, indexd.ErrTooLarge) && (b.BulkObjectIDs == nil || len(*b.BulkObjectIDs) <= maxBulk) {
				t.Fatalf("413 for %d ids, max %d", len(*b.BulkObjectIDs), maxBulk)
			}
		} else {
			raw := *b.BulkObjectIDs
			if len(ids) == 0 || len(raw) > maxBulk {
				t.Fatalf("accepted %d ids (%d given), max %d", len(ids), len(raw), maxBulk)
			}
			if b.Passports != nil && !allowPassports {
				t.Fatalf("accepted passports where none are allowed")
			}
			checkPassports(t, b.Passports)
			var want []string
			for _, id := range raw {
				if !slices.Contains(want, id) {
					want = append(want, id)
				}
			}
			if !slices.Equal(ids, want) {
				t.Fatalf("ids %q from %q: want first occurrences in order %q", ids, raw, want)
			}
		}

		var ab bulkAccessBody
		if err := DecodeStrict(body, &ab); err != nil {
			mustBeRejection(t, "DecodeStrict bulk access", body, err)
		} else if items, err := ab.items(maxBulk); err != nil {
			mustBeRejection(t, "bulk access", body, err, indexd.ErrInvalid, indexd.ErrTooLarge)
		} else {
			checkPassports(t, ab.Passports)
			pairs := 0
			for _, it := range items {
				if it.ObjectID == "" || len(it.AccessIDs) == 0 {
					t.Fatalf("accepted item %+v", it)
				}
				pairs += len(it.AccessIDs)
			}
			if len(items) == 0 || len(items) > maxBulk || pairs > maxBulk {
				t.Fatalf("accepted %d items, %d access ids; max %d", len(items), pairs, maxBulk)
			}
		}

		var ob drsObjectBody
		if err := DecodeStrict(body, &ob); err != nil {
			mustBeRejection(t, "DecodeStrict object body", body, err)
		} else if err := validatePassports(ob.Passports); err != nil {
			mustBeRejection(t, "passports", body, err)
		} else {
			checkPassports(t, ob.Passports)
		}
	})
}

func checkPassports(t *testing.T, ps []string) {
	t.Helper()
	if len(ps) > maxPassports {
		t.Fatalf("accepted %d passports", len(ps))
	}
	for _, p := range ps {
		if p == "" || len(p) > 64<<10 {
			t.Fatalf("accepted a passport of %d bytes", len(p))
		}
	}
}

// FuzzSettingsBody: PUT /admin/discovery. Absent fields keep the current
// value; global paths are well-formed resource paths.
func FuzzSettingsBody(f *testing.F) {
	for _, s := range []string{
		`{"are_records_discoverable": false}`, `{"global_discovery_authz": ["/programs/p1"]}`, `{}`,
		`{"global_discovery_authz": null}`, `{"global_discovery_authz": []}`, `{"global_discovery_authz": ["programs"]}`,
		`{"global_discovery_authz": ["/a//b"]}`, `{"global_discovery_authz": ["/a/"]}`, `{"global_discovery_authz": ["/"]}`,
		`{"global_discovery_authz": ["/a\u0000"]}`, `{"global_discovery_authz": [""]}`, `{"are_records_discoverable": "false"}`,
		`{"are_records_discoverable": null}`, `{"version": 3}`, `null`, `[]`,
		`{"dry_run": true, "users": ["alice", "ALICE", "bob"]}`, `{"users": [""]}`, `{"users": ["a\u0001"]}`, `{"users": null}`,
		`{"dry_run": "true"}`, `{"users": "alice"}`,
	} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, discoverable bool) {
		cur := discovery.Settings{AreRecordsDiscoverable: discoverable, GlobalDiscoveryAuthz: []string{"/current"}, Version: 7}
		var b settingsBody
		if err := DecodeStrict(body, &b); err != nil {
			mustBeRejection(t, "DecodeStrict settings", body, err)
			return
		}
		if err := b.validate(); err != nil {
			mustBeRejection(t, "settings", body, err)
			return
		}
		next := b.apply(cur)
		if next.Version != cur.Version {
			t.Fatalf("the body changed the version: %+v", next)
		}
		if b.AreRecordsDiscoverable == nil && next.AreRecordsDiscoverable != cur.AreRecordsDiscoverable {
			t.Fatalf("are_records_discoverable changed without being given")
		}
		if b.GlobalDiscoveryAuthz == nil && !slices.Equal(next.GlobalDiscoveryAuthz, cur.GlobalDiscoveryAuthz) {
			t.Fatalf("global_discovery_authz changed without being given")
		}
		for _, p := range next.GlobalDiscoveryAuthz {
			if !okResourcePath(p) {
				t.Fatalf("accepted global discovery path %q", p)
			}
		}
		if len(b.Users) > explain.MaxUsers {
			t.Fatalf("accepted %d users", len(b.Users))
		}
		for _, u := range b.Users {
			if strings.TrimSpace(u) == "" || !okText(u) {
				t.Fatalf("accepted user name %q", u)
			}
		}
	})
}

// FuzzParseExplainQuery: GET /admin/explain. An accepted question names a
// record and exactly one caller, with well-formed what-if settings that
// differ from the current ones only where a parameter says so.
func FuzzParseExplainQuery(f *testing.F) {
	for _, s := range []string{
		"id=dg.X/1&user=alice", "id=a&anonymous=true", "id=a&anonymous=1&are_records_discoverable=false",
		"id=a&user=bob&global_discovery_authz=/a,/b", "id=a&user=bob&global_discovery_authz=", "id=a&user=bob&global_discovery_authz=a",
		"id=a&user=bob&global_discovery_authz=/a/", "id=a&user=bob&global_discovery_authz=/a,,/b", "id=a", "user=x", "id=&user=x",
		"id=a&user=", "id=a&user=x&anonymous=true", "id=a&anonymous=false", "id=a&anonymous=yes", "id=a&user=%00", "id=a&id=b&user=x",
		"id=a&user=x&token_id=1", "id=a&user=x&are_records_discoverable=TRUE", "%zz", "id=a&user=" + strings.Repeat("u", 300),
	} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, discoverable bool) {
		vals, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		cur := discovery.Settings{AreRecordsDiscoverable: discoverable, GlobalDiscoveryAuthz: []string{"/current"}, Version: 7}
		q, err := ParseExplainQuery(vals, cur)
		if err != nil {
			mustBeRejection(t, "ParseExplainQuery", raw, err)
			return
		}
		if q.ID == "" || q.ID != vals.Get("id") {
			t.Fatalf("accepted id %q from %q", q.ID, raw)
		}
		named := 0
		for _, b := range []bool{q.Subject.Anonymous, q.Subject.User != "", q.Subject.TokenID != ""} {
			if b {
				named++
			}
		}
		if named != 1 || (q.Subject.User != "" && (strings.TrimSpace(q.Subject.User) == "" || !okText(q.Subject.User))) ||
			(q.Subject.TokenID != "" && (q.Subject.TokenID != vals.Get("token_id") || len(q.Subject.TokenID) > 64 || !utf8.ValidString(q.Subject.TokenID))) {
			t.Fatalf("accepted subject %+v from %q", q.Subject, raw)
		}
		if q.Current.Version != 7 || q.Settings.Version != 7 || q.Current.AreRecordsDiscoverable != discoverable || !slices.Equal(q.Current.GlobalDiscoveryAuthz, cur.GlobalDiscoveryAuthz) {
			t.Fatalf("current settings changed: %+v", q.Current)
		}
		if !vals.Has("are_records_discoverable") && q.Settings.AreRecordsDiscoverable != discoverable {
			t.Fatalf("are_records_discoverable changed without being given: %q", raw)
		}
		if !vals.Has("global_discovery_authz") && !slices.Equal(q.Settings.GlobalDiscoveryAuthz, cur.GlobalDiscoveryAuthz) {
			t.Fatalf("global_discovery_authz changed without being given: %q", raw)
		}
		for _, p := range q.Settings.GlobalDiscoveryAuthz {
			if !okResourcePath(p) {
				t.Fatalf("accepted global discovery path %q", p)
			}
		}
	})
}

// FuzzBlankBodies: POST /index/blank (and /index/blank/{id}), PUT
// /index/blank/{id} (fill), PUT /index/{id}/versions and the alias bodies.
func FuzzBlankBodies(f *testing.F) {
	for _, s := range []string{
		`{"uploader": "u"}`, `{"uploader": ""}`, `{"uploader": "u", "did": ""}`, `{"uploader": "u", "did": "a/versions"}`,
		`{"uploader": "u", "authz": ["/p"], "acl": ["x"], "file_name": "f"}`, `{"uploader": "u", "authz": ["p"]}`,
		`{"size": 1, "hashes": {"md5": "0123456789abcdef0123456789abcdef"}, "urls": ["s3://b/k"]}`,
		`{"size": -1, "hashes": {"md5": "0123456789abcdef0123456789abcdef"}}`, `{"size": 1, "hashes": {}}`,
		`{"size": 1, "hashes": {"md5": "x"}}`, `{"size": 1, "hashes": {"md5": "0123456789abcdef0123456789abcdef"}, "urls": [""]}`,
		`{"acl": ["a"]}`, `{"authz": ["/a"]}`, `{"authz": ["/a/"]}`, `{"acl": [""]}`, `{"acl": null, "authz": null}`,
		`{"aliases": [{"value": "a"}]}`, `{"aliases": []}`, `{"aliases": null}`, `{"aliases": [{"value": "a b"}]}`,
		`{"aliases": [{"value": "x/latest"}]}`, `{"aliases": [{}]}`, `{}`, `null`,
	} {
		f.Add([]byte(s))
	}
	created := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var bb blankBody
		if err := DecodeStrict(body, &bb); err != nil {
			mustBeRejection(t, "DecodeStrict blank", body, err)
		} else if n, authzGiven, err := bb.toNew(); err != nil {
			mustBeRejection(t, "blank", body, err)
		} else {
			if n.Uploader != nil && *n.Uploader == "" { // optional (issue 10); "" is none
				t.Fatalf("blank kept an empty uploader")
			}
			if n.DID != "" && indexd.ValidateID(n.DID) != nil {
				t.Fatalf("blank accepted did %q", n.DID)
			}
			if authzGiven != (bb.Authz != nil) {
				t.Fatalf("authzGiven %v for authz %v", authzGiven, bb.Authz)
			}
			for _, p := range n.Authz {
				if !okResourcePath(p) {
					t.Fatalf("blank accepted authz %q", p)
				}
			}
		}

		var fb fillBlankBody
		if err := DecodeStrict(body, &fb); err != nil {
			mustBeRejection(t, "DecodeStrict fill", body, err)
		} else if u, err := fb.toUpdate(); err != nil {
			mustBeRejection(t, "fill", body, err)
		} else if err := indexd.ValidateUpdate(&u, &indexd.Record{DID: "blank", CreatedDate: created}); err != nil {
			mustBeRejection(t, "fill ValidateUpdate", body, err)
		} else {
			if u.Size == nil || *u.Size < 0 || u.Hashes == nil || len(*u.Hashes) == 0 {
				t.Fatalf("fill accepted size %v hashes %v", u.Size, u.Hashes)
			}
			for k, v := range *u.Hashes {
				if indexd.ValidateHash(k, v) != nil {
					t.Fatalf("fill accepted hash %s:%s", k, v)
				}
			}
		}

		var vb versionsBody
		if err := DecodeStrict(body, &vb); err != nil {
			mustBeRejection(t, "DecodeStrict versions", body, err)
		} else if err := vb.validate(); err != nil {
			mustBeRejection(t, "versions", body, err)
		} else {
			if vb.ACL == nil && vb.Authz == nil {
				t.Fatalf("versions accepted without acl or authz")
			}
			if vb.Authz != nil {
				for _, p := range *vb.Authz {
					if !okResourcePath(p) {
						t.Fatalf("versions accepted authz %q", p)
					}
				}
			}
		}

		var ap aliasesPayload
		if err := DecodeStrict(body, &ap); err != nil {
			mustBeRejection(t, "DecodeStrict aliases", body, err)
		} else if names, err := ap.names(); err != nil {
			mustBeRejection(t, "aliases", body, err)
		} else {
			if len(names) != len(ap.Aliases) {
				t.Fatalf("aliases %v from %v", names, ap.Aliases)
			}
			for _, a := range names {
				if indexd.ValidateID(a) != nil {
					t.Fatalf("accepted alias %q", a)
				}
			}
		}
	})
}
