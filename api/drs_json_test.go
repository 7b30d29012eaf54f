package api

import (
	"encoding/json"
	"fmt"
	"testing"
)

func drsJSONCases() []drsObject {
	yes, no := true, false
	auth := &drsAuthorizations{SupportedTypes: []string{"BearerAuth"}}
	full := &drsAuthorizations{DrsObjectID: "dg.T/<a&b>", SupportedTypes: []string{"None", "BearerAuth"}, BearerAuthIssuers: []string{"https://iss"}}
	out := []drsObject{
		{},
		{ID: "a", SelfURI: "drs://h/a", CreatedTime: "t", Checksums: []drsChecksum{}, AccessMethods: []drsAccessMethod{}},
		{
			ID: "dg.T/x", Name: "x <y> & \"z\"", SelfURI: "drs://h/dg.T%2Fx", Size: 1 << 40, CreatedTime: "c", UpdatedTime: "u",
			Version: "v", Description: "d\n\u2028", Aliases: []string{"al", "é"},
			Checksums: []drsChecksum{{Checksum: "ab", Type: "md5"}, {Checksum: "cd", Type: "sha-256"}},
			AccessMethods: []drsAccessMethod{
				{Type: "s3", AccessID: "s3", Cloud: "aws", Region: "us-east-1", Available: &yes, Authorizations: auth},
				{Type: "https", AccessID: "https", AccessURL: &drsAccessURL{URL: "https://h/x?a=1&b=<2>"}, Available: &no, Authorizations: full},
				{Type: "gs", AccessID: "gs-2"},
			},
		},
		{ID: "n", Aliases: []string{}, AccessMethods: []drsAccessMethod{{Authorizations: &drsAuthorizations{}}}},
	}
	s := &Server{cfg: Config{Hostname: "drs.example.org"}}
	for i := range benchPage(20).Records {
		out = append(out, s.toDRS(&benchPage(20).Records[i], "drs.example.org"))
	}
	return out
}

// TestWriteDRSObjectMatchesEncodingJSON: the reflection-free DrsObject
// writer produces exactly encoding/json's bytes, one object or a list.
func TestWriteDRSObjectMatchesEncodingJSON(t *testing.T) {
	cases := drsJSONCases()
	for i := range cases {
		var w jsonWriter
		writeDRSObject(&w, &cases[i])
		want, err := json.Marshal(cases[i])
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, fmt.Sprintf("object %d", i), w.buf, want)
	}
	for _, l := range []drsObjectList{{}, {DrsObjects: []drsObject{}}, {DrsObjects: cases, NextCursor: "c<&>"}} {
		var w jsonWriter
		writeDRSObjectList(&w, &l)
		want, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, fmt.Sprintf("list of %d", len(l.DrsObjects)), w.buf, want)
	}
}
