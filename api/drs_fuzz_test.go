package api

import (
	"errors"
	"testing"

	"github.com/datacommons/indexd"
)

// FuzzParseDRSTarget: no input panics, every rejection is ErrInvalid, and a
// valid id percent-encoded with EncodeDRSID parses back to itself, with or
// without an access suffix.
func FuzzParseDRSTarget(f *testing.F) {
	for _, s := range []string{"abc", "dg.1/abc", "dg.1%2Fabc/access/s3", "x/access/", "x%2Faccess%2Fy", "%zz", "a//b", "", "/", "a/access/b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := ParseDRSTarget(raw)
		if err != nil {
			if !errors.Is(err, indexd.ErrInvalid) {
				t.Fatalf("ParseDRSTarget(%q): error %v is not ErrInvalid", raw, err)
			}
			return
		}
		if err := indexd.ValidateID(got.ID); err != nil {
			t.Fatalf("ParseDRSTarget(%q) accepted invalid id %q", raw, got.ID)
		}
		back, err := ParseDRSTarget(EncodeDRSID(got.ID))
		if err != nil || back.ID != got.ID || back.Access {
			t.Fatalf("round trip of %q: %+v, %v", got.ID, back, err)
		}
		if got.Access {
			back, err = ParseDRSTarget(EncodeDRSID(got.ID) + "/access/" + EncodeDRSID(got.AccessID))
			if err != nil || back != got {
				t.Fatalf("round trip of %+v: %+v, %v", got, back, err)
			}
		}
	})
}
