package discovery

import (
	"slices"
	"testing"
)

func TestFromReads(t *testing.T) {
	filtering := func(global ...string) Settings {
		return Settings{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: global}
	}
	cases := []struct {
		name        string
		st          Settings
		reads       []string
		all         bool
		grant, path string
	}{
		{"no global path", filtering(), []string{"/programs/p1"}, false, "", ""},
		{"grant equals the global path", filtering("/open"), []string{"/open"}, true, "/open", "/open"},
		{"grant above the global path", filtering("/open/x"), []string{"/a", "/open"}, true, "/open", "/open/x"},
		{"grant below the global path does not count", filtering("/open"), []string{"/open/x"}, false, "", ""},
		{"look-alike", filtering("/programs/p10"), []string{"/programs/p1"}, false, "", ""},
		{"first global path in order", filtering("/b", "/a"), []string{"/a", "/b"}, true, "/b", "/b"},
		{"discoverable keeps the grants", Settings{AreRecordsDiscoverable: true}, []string{"/a"}, false, "", ""},
	}
	for _, c := range cases {
		dc := FromReads(c.st, c.reads)
		if dc.CanDiscoverAll != c.all || dc.Discoverable != c.st.AreRecordsDiscoverable || !slices.Equal(dc.AuthorizedResources, c.reads) {
			t.Errorf("%s: FromReads = %+v", c.name, dc)
		}
		g, p, ok := DiscoverAllVia(c.st.GlobalDiscoveryAuthz, c.reads)
		if ok != c.all || g != c.grant || p != c.path {
			t.Errorf("%s: DiscoverAllVia = %q %q %v, want %q %q %v", c.name, g, p, ok, c.grant, c.path, c.all)
		}
	}
}
