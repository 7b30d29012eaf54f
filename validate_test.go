package indexd

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func vtIs(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("error %v, want ErrInvalid", err)
	}
	if !strings.Contains(Message(err), want) {
		t.Fatalf("message %q does not contain %q", Message(err), want)
	}
}

func TestValidateID(t *testing.T) {
	cases := []struct{ id, want string }{
		{"a", ""},
		{"dg.4503/0b8a6d2c-5a7f-4b8e-9c1a-2f3e4d5c6b7a", ""},
		{"ark:/99999/fk4", ""},
		{"A-Z_a.z~0:9@x+y=z", ""},
		{"a/b/c/d", ""},
		{"versions-x/latestx/xaliases", ""},
		{strings.Repeat("a", MaxIDLength), ""},
		{"", "id must not be empty"},
		{strings.Repeat("a", MaxIDLength+1), "id is longer than 256 bytes"},
		{"a b", `id "a b" contains a character that is not allowed (' ')`},
		{"a?b", `('?')`},
		{"a#b", `('#')`},
		{"a%20b", `('%')`},
		{"a\\b", `('\\')`},
		{"a\x00b", `('\x00')`},
		{"ä", "contains a character that is not allowed"},
		{"a\xffb", `id "a?b" contains a character that is not allowed`},
		{"/a", `id "/a" has an empty path segment`},
		{"a/", `id "a/" has an empty path segment`},
		{"a//b", `id "a//b" has an empty path segment`},
		{".", `id "." has a relative path segment`},
		{"a/./b", "has a relative path segment"},
		{"../a", "has a relative path segment"},
		{"versions", `contains the reserved segment "versions"`},
		{"a/latest", `contains the reserved segment "latest"`},
		{"a/aliases/b", `contains the reserved segment "aliases"`},
		{"blank", `id "blank" may not start with the reserved segment "blank"`},
		{"blank/x", `id "blank/x" may not start with the reserved segment "blank"`},
		{"x/blank", ""},
		{"blanks/x", ""},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) { vtIs(t, ValidateID(c.id), c.want) })
	}
}

func TestValidateAlias(t *testing.T) {
	vtIs(t, ValidateAlias("alias-1"), "")
	vtIs(t, ValidateAlias("dg.TEST/0b8a-11"), "") // prefix aliases hold '/'
	vtIs(t, ValidateAlias("ark:/9/x"), "")
	vtIs(t, ValidateAlias(""), "alias: id must not be empty")
	vtIs(t, ValidateAlias("a b"), "alias: id \"a b\" contains a character")
	vtIs(t, ValidateAlias("x/aliases/y"), "alias: id \"x/aliases/y\" contains the reserved segment \"aliases\"")
}

func TestValidateHash(t *testing.T) {
	md5 := "0123456789abcdef0123456789abcdef"
	cases := []struct{ typ, val, want string }{
		{"md5", md5, ""},
		{"sha1", strings.Repeat("a", 40), ""},
		{"sha256", strings.Repeat("b", 64), ""},
		{"sha512", strings.Repeat("c", 128), ""},
		{"crc", "0a0b0c0d", ""},
		{"etag", md5, ""},
		{"etag", md5 + "-12", ""},
		{"md5", strings.ToUpper(md5), `hash md5 value "` + strings.ToUpper(md5) + `" is malformed`},
		{"md5", md5[:31], "is malformed"},
		{"md5", md5 + "0", "is malformed"},
		{"md5", md5[:31] + "g", "is malformed"},
		{"md5", "", `hash md5 value "" is malformed`},
		{"md5", md5 + "\n", "is malformed"},
		{"sha1", md5, "hash sha1 value"},
		{"crc", "0a0b0c0", "hash crc value"},
		{"etag", md5 + "-", "hash etag value"},
		{"etag", md5 + "-x", "hash etag value"},
		{"MD5", md5, `hash type "MD5" is not supported (use one of crc, etag, md5, sha1, sha256, sha512)`},
		{"", md5, `hash type "" is not supported`},
	}
	for _, c := range cases {
		t.Run(c.typ+":"+c.val, func(t *testing.T) { vtIs(t, ValidateHash(c.typ, c.val), c.want) })
	}
	vtIs(t, ValidateHashes(nil, false), "")
	vtIs(t, ValidateHashes(map[string]string{}, true), "hashes must hold at least one of crc, etag, md5, sha1, sha256, sha512")
	// several bad hashes: the first in type order is named, every time
	for i := 0; i < 20; i++ {
		vtIs(t, ValidateHashes(map[string]string{"sha1": "x", "crc": "y", "md5": "z"}, true), `hash crc value "y"`)
	}
}

func TestParseHashTerm(t *testing.T) {
	md5 := "0123456789abcdef0123456789abcdef"
	kv, err := ParseHashTerm("md5:" + md5)
	if err != nil || kv != (KV{Key: "md5", Value: md5}) {
		t.Fatalf("ParseHashTerm: %+v %v", kv, err)
	}
	kv, err = ParseHashTerm("etag:" + md5 + "-3")
	if err != nil || kv != (KV{Key: "etag", Value: md5 + "-3"}) {
		t.Fatalf("ParseHashTerm etag: %+v %v", kv, err)
	}
	for in, want := range map[string]string{
		"md5":               `hash filter "md5" must be type:value`,
		"":                  `hash filter "" must be type:value`,
		"md5:":              `hash md5 value "" is malformed`,
		":" + md5:           `hash type "" is not supported`,
		"md5:" + md5 + ":x": "is malformed",
		"sha1:" + md5:       "hash sha1 value",
		"bogus:" + md5:      `hash type "bogus" is not supported`,
		"md5 :" + md5:       `hash type "md5 " is not supported`,
		"md5:" + md5[:30]:   "is malformed",
	} {
		_, err := ParseHashTerm(in)
		vtIs(t, err, want)
	}
}

func TestValidateAuthzAndStrings(t *testing.T) {
	vtIs(t, ValidateAuthz(nil), "")
	vtIs(t, ValidateAuthz([]string{"/", "/programs/a", "/programs/a/projects/b"}), "")
	vtIs(t, ValidateAuthz([]string{"programs"}), `authz path "programs" must start with '/'`)
	vtIs(t, ValidateAuthz([]string{"/a//b"}), `authz path "/a//b" has an empty segment`)
	vtIs(t, ValidateAuthz([]string{"/a/"}), `authz path "/a/" has an empty segment`)
	vtIs(t, ValidateAuthz([]string{""}), "authz must not contain empty strings")
	vtIs(t, ValidateStrings("acl", []string{"a", ""}), "acl must not contain empty strings")
	vtIs(t, ValidateStrings("urls", []string{strings.Repeat("u", MaxIndexedText)}), "")
	vtIs(t, ValidateStrings("urls", []string{strings.Repeat("u", MaxIndexedText+1)}), "urls entry is longer than 2048 bytes")
	vtIs(t, ValidateStrings("acl", []string{strings.Repeat("u", MaxIndexedText+1)}), "acl entry is longer than 2048 bytes")
	vtIs(t, ValidateStrings("urls", []string{"a\xffb"}), "urls entry must be valid UTF-8 text without NUL bytes")
	vtIs(t, ValidateStrings("urls", []string{"a\x00b"}), "urls entry must be valid UTF-8 text without NUL bytes")
	long := "/" + strings.Repeat("p", MaxAuthzPathLen-1)
	vtIs(t, ValidateAuthz([]string{long}), "")
	vtIs(t, ValidateAuthz([]string{long + "p"}), "authz entry is longer than 1024 bytes")
	vtIs(t, ValidateRecordAuthz([]string{long, long}), "")
	vtIs(t, ValidateRecordAuthz([]string{long, long, "/x"}), "authz paths are longer than 2048 bytes together")
	many := make([]string, MaxAuthzPaths+1)
	for i := range many {
		many[i] = "/p" + strconv.Itoa(i)
	}
	vtIs(t, ValidateRecordAuthz(many[:MaxAuthzPaths]), "")
	vtIs(t, ValidateRecordAuthz(many), "authz holds more than 64 paths")
	vtIs(t, ValidateAuthz(many), "") // discovery settings: no per-record bound
	vtIs(t, ValidateStrings("acl", make([]string, 1001)), "acl holds more than 1000 entries")
	vtIs(t, ValidateURLsMetadata([]string{"u1", "u2"}, map[string]map[string]string{"u1": {}}), "")
	vtIs(t, ValidateURLsMetadata([]string{"u1"}, map[string]map[string]string{"u1": {}, "u0": {}, "u9": {}}), `urls_metadata key "u0" is not one of urls`)
}

func vtNew() NewRecord {
	form, size := FormObject, int64(1)
	return NewRecord{Form: &form, Size: &size, URLs: []string{"s3://a"}, Hashes: map[string]string{"md5": "0123456789abcdef0123456789abcdef"}}
}

func TestValidateNew(t *testing.T) {
	d1 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	d2 := d1.Add(time.Second)
	bad := "folder"
	neg, zero := int64(-1), int64(0)
	cases := []struct {
		name  string
		blank bool
		edit  func(n *NewRecord)
		want  string
	}{
		{"valid", false, func(*NewRecord) {}, ""},
		{"size zero", false, func(n *NewRecord) { n.Size = &zero }, ""},
		{"empty urls list", false, func(n *NewRecord) { n.URLs = []string{} }, ""},
		{"dates in order", false, func(n *NewRecord) { n.ContentCreatedDate, n.ContentUpdatedDate = &d1, &d2 }, ""},
		{"dates equal", false, func(n *NewRecord) { n.ContentCreatedDate, n.ContentUpdatedDate = &d1, &d1 }, ""},
		{"blank", true, func(n *NewRecord) { *n = NewRecord{} }, ""},
		{"bad did", false, func(n *NewRecord) { n.DID = "a b" }, "contains a character that is not allowed"},
		{"bad baseid", false, func(n *NewRecord) { n.BaseID = "a//b" }, `baseid: id "a//b" has an empty path segment`},
		{"no form", false, func(n *NewRecord) { n.Form = nil }, "form is required"},
		{"bad form", false, func(n *NewRecord) { n.Form = &bad }, `form "folder" must be object, container or multipart`},
		{"bad form blank", true, func(n *NewRecord) { n.Form = &bad }, `form "folder"`},
		{"no size", false, func(n *NewRecord) { n.Size = nil }, "size is required"},
		{"negative size", false, func(n *NewRecord) { n.Size = &neg }, "size must be >= 0"},
		{"no urls", false, func(n *NewRecord) { n.URLs = nil }, "urls is required"},
		{"no hashes", false, func(n *NewRecord) { n.Hashes = nil }, "hashes must hold at least one"},
		{"bad hash blank", true, func(n *NewRecord) { n.Hashes = map[string]string{"md5": "x"} }, `hash md5 value "x"`},
		{"dates out of order", false, func(n *NewRecord) { n.ContentCreatedDate, n.ContentUpdatedDate = &d2, &d1 }, "content_updated_date must not be before content_created_date"},
		{"updated without created", false, func(n *NewRecord) { n.ContentUpdatedDate = &d1 }, "content_updated_date needs content_created_date"},
		{"urls_metadata stray key", false, func(n *NewRecord) { n.URLsMetadata = map[string]map[string]string{"s3://b": {}} }, `urls_metadata key "s3://b" is not one of urls`},
		{"bad authz", false, func(n *NewRecord) { n.Authz = []string{"x"} }, `authz path "x" must start with '/'`},
		{"bad acl", false, func(n *NewRecord) { n.ACL = []string{""} }, "acl must not contain empty strings"},
		{"file_name NUL", false, func(n *NewRecord) { n.FileName = ptr("a\x00b") }, "file_name must be valid UTF-8 text without NUL bytes"},
		{"file_name invalid UTF-8", false, func(n *NewRecord) { n.FileName = ptr("a\xffb") }, "file_name must be valid UTF-8 text without NUL bytes"},
		{"file_name long", false, func(n *NewRecord) { n.FileName = ptr(strings.Repeat("f", MaxIndexedText+1)) }, "file_name is longer than 2048 bytes"},
		{"version NUL", false, func(n *NewRecord) { n.Version = ptr("\x00") }, "version must be valid UTF-8 text"},
		{"version long", false, func(n *NewRecord) { n.Version = ptr(strings.Repeat("v", MaxIndexedText+1)) }, "version is longer than 2048 bytes"},
		{"uploader NUL", true, func(n *NewRecord) { n.Uploader = ptr("u\x00") }, "uploader must be valid UTF-8 text"},
		{"uploader long", true, func(n *NewRecord) { n.Uploader = ptr(strings.Repeat("u", MaxIndexedText+1)) }, "uploader is longer than 2048 bytes"},
		{"description NUL", false, func(n *NewRecord) { n.Description = ptr("d\x00") }, "description must be valid UTF-8 text"},
		{"description long is fine", false, func(n *NewRecord) { n.Description = ptr(strings.Repeat("d", 10*MaxIndexedText)) }, ""},
		{"metadata key NUL", false, func(n *NewRecord) { n.Metadata = map[string]string{"k\x00": "v"} }, `metadata key "k\x00" must be valid UTF-8 text`},
		{"metadata value NUL", false, func(n *NewRecord) { n.Metadata = map[string]string{"k": "v\x00"} }, `metadata value of "k" must be valid UTF-8 text`},
		{"urls_metadata key NUL", false, func(n *NewRecord) { n.URLsMetadata = map[string]map[string]string{"s3://a": {"k\x00": "v"}} }, `urls_metadata["s3://a"] key "k\x00" must be valid UTF-8 text`},
		{"urls_metadata value NUL", false, func(n *NewRecord) { n.URLsMetadata = map[string]map[string]string{"s3://a": {"k": "\x00"}} }, `urls_metadata["s3://a"] value of "k" must be valid UTF-8 text`},
		{"urls_metadata url NUL", false, func(n *NewRecord) { n.URLsMetadata = map[string]map[string]string{"s3://a\x00": {}} }, `urls_metadata key "s3://a\x00" must be valid UTF-8 text`},
		{"hash type NUL", false, func(n *NewRecord) { n.Hashes = map[string]string{"md5\x00": "x"} }, `hash type "md5\x00" is not supported`},
		{"authz path too long", false, func(n *NewRecord) { n.Authz = []string{"/" + strings.Repeat("a", MaxAuthzPathLen)} }, "authz entry is longer than 1024 bytes"},
		{"url too long", false, func(n *NewRecord) { n.URLs = []string{"s3://" + strings.Repeat("a", MaxIndexedText)} }, "urls entry is longer than 2048 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := vtNew()
			c.edit(&n)
			vtIs(t, ValidateNew(&n, c.blank), c.want)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	d1 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	d0, d2 := d1.Add(-time.Hour), d1.Add(time.Hour)
	cur := &Record{URLs: []string{"u1", "u2"}, ContentCreatedDate: &d1, ContentUpdatedDate: &d1}
	urls := []string{"u3"}
	um := map[string]map[string]string{"u1": {"k": "v"}}
	neg := int64(-1)
	authz := []string{"nope"}
	manyAuthz := make([]string, MaxAuthzPaths+1)
	for i := range manyAuthz {
		manyAuthz[i] = "/p" + strconv.Itoa(i)
	}
	cases := []struct {
		name string
		u    RecordUpdate
		want string
	}{
		{"nothing", RecordUpdate{}, ""},
		{"metadata of a current url", RecordUpdate{URLsMetadata: &um}, ""},
		{"metadata of a removed url", RecordUpdate{URLs: &urls, URLsMetadata: &um}, `urls_metadata key "u1" is not one of urls`},
		{"new urls alone", RecordUpdate{URLs: &urls}, ""},
		{"updated later", RecordUpdate{ContentUpdatedDate: &d2}, ""},
		{"updated before stored created", RecordUpdate{ContentUpdatedDate: &d0}, "content_updated_date must not be before content_created_date"},
		{"created after stored updated", RecordUpdate{ContentCreatedDate: &d2}, "content_updated_date must not be before content_created_date"},
		{"both moved", RecordUpdate{ContentCreatedDate: &d2, ContentUpdatedDate: &d2}, ""},
		{"negative size", RecordUpdate{Size: &neg}, "size must be >= 0"},
		{"bad hashes", RecordUpdate{Hashes: &map[string]string{"md5": "z"}}, `hash md5 value "z"`},
		{"bad authz", RecordUpdate{Authz: &authz}, `authz path "nope" must start with '/'`},
		{"file_name NUL", RecordUpdate{FileName: ptr("\x00")}, "file_name must be valid UTF-8 text"},
		{"version long", RecordUpdate{Version: ptr(strings.Repeat("v", MaxIndexedText+1))}, "version is longer than 2048 bytes"},
		{"uploader NUL", RecordUpdate{Uploader: ptr("\x00")}, "uploader must be valid UTF-8 text"},
		{"description NUL", RecordUpdate{Description: ptr("\x00")}, "description must be valid UTF-8 text"},
		{"metadata key NUL", RecordUpdate{Metadata: &map[string]string{"\x00": "v"}}, `metadata key "\x00" must be valid UTF-8 text`},
		{"urls_metadata value NUL", RecordUpdate{URLsMetadata: &map[string]map[string]string{"u1": {"k": "\x00"}}}, `urls_metadata["u1"] value of "k"`},
		{"too many authz paths", RecordUpdate{Authz: &manyAuthz}, "authz holds more than 64 paths"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { vtIs(t, ValidateUpdate(&c.u, cur), c.want) })
	}
}

// FuzzValidateID: no panic; rejections are ErrInvalid with a message;
// accepted ids obey every documented rule.
func FuzzValidateID(f *testing.F) {
	for _, s := range []string{"a", "dg.4503/abc", "", "a b", "a//b", "../x", "x/versions", "blank/x", "ark:/9/x", strings.Repeat("z", 300), "\xff", "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := ValidateID(id)
		aerr := ValidateAlias(id)
		if (err == nil) != (aerr == nil) {
			t.Fatalf("ValidateID and ValidateAlias disagree on %q: %v / %v", id, err, aerr)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) || Message(err) == "" || !errors.Is(aerr, ErrInvalid) {
				t.Fatalf("%q: %v is not ErrInvalid with a message", id, err)
			}
			return
		}
		if id == "" || len(id) > MaxIDLength {
			t.Fatalf("accepted length %d", len(id))
		}
		for i := 0; i < len(id); i++ {
			if c := id[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`?#%"\<>[]{}|^`+"`", c) >= 0 {
				t.Fatalf("accepted %q with byte %q", id, c)
			}
		}
		if first, _, _ := strings.Cut(id, "/"); first == "blank" {
			t.Fatalf("accepted %q starting with the blank route segment", id)
		}
		for _, seg := range strings.Split(id, "/") {
			if seg == "" || seg == "." || seg == ".." || seg == "versions" || seg == "latest" || seg == "aliases" {
				t.Fatalf("accepted %q with segment %q", id, seg)
			}
		}
	})
}

// FuzzParseHashTerm: no panic; rejections are ErrInvalid; an accepted term
// is exactly type:value with a valid hash.
func FuzzParseHashTerm(f *testing.F) {
	for _, s := range []string{"md5:0123456789abcdef0123456789abcdef", "md5", "md5:", ":", "sha1:x", "etag:0123456789abcdef0123456789abcdef-1", "crc:0a0b0c0d", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kv, err := ParseHashTerm(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || Message(err) == "" {
				t.Fatalf("%q: %v is not ErrInvalid with a message", s, err)
			}
			return
		}
		if kv.Key+":"+kv.Value != s || ValidateHash(kv.Key, kv.Value) != nil {
			t.Fatalf("accepted %q as %+v", s, kv)
		}
	})
}

func ptr(s string) *string { return &s }

func TestValidateNegation(t *testing.T) {
	md5 := "0123456789abcdef0123456789abcdef"
	cases := []struct {
		name string
		n    Negation
		want string
	}{
		{"empty", Negation{}, ""},
		{"valid", Negation{FileName: ptr("f"), URLs: []string{"s3://a"}, Hashes: map[string]string{"md5": md5}, Metadata: map[string]string{"k": ""}}, ""},
		{"file_name NUL", Negation{FileName: ptr("\x00")}, "negate_params file_name must be valid UTF-8 text"},
		{"version invalid UTF-8", Negation{Version: ptr("\xff")}, "negate_params version must be valid UTF-8 text"},
		{"urls NUL", Negation{URLs: []string{"\x00"}}, "negate_params urls entry must be valid UTF-8 text"},
		{"acl NUL", Negation{ACL: []string{"\x00"}}, "negate_params acl entry"},
		{"authz NUL", Negation{Authz: []string{"/a\x00"}}, "negate_params authz entry"},
		{"hash bad", Negation{Hashes: map[string]string{"md5": "x"}}, `negate_params: hash md5 value "x" is malformed`},
		{"metadata key NUL", Negation{Metadata: map[string]string{"\x00": ""}}, `negate_params metadata key "\x00"`},
		{"urls_metadata value NUL", Negation{URLsMetadata: map[string]map[string]string{"s3": {"k": "\x00"}}}, `negate_params urls_metadata["s3"] value of "k"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { vtIs(t, ValidateNegation(&c.n), c.want) })
	}
}
