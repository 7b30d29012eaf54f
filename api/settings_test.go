package api

import (
	"testing"

	"github.com/datacommons/indexd/discovery"
)

// TestSettingsHolder: Set (notifications) only moves forward; Reset (the
// row as re-read or committed) is authoritative — a restored database with
// a lower version is followed — unless the held settings changed after the
// reader took its epoch, when its read may be the stale one.
func TestSettingsHolder(t *testing.T) {
	v := func(version int64, discoverable bool) discovery.Settings {
		return discovery.Settings{AreRecordsDiscoverable: discoverable, GlobalDiscoveryAuthz: []string{}, Version: version}
	}
	tests := []struct {
		name string
		run  func(h *SettingsHolder)
		want discovery.Settings
	}{
		{"Set moves forward", func(h *SettingsHolder) { h.Set(v(6, false)) }, v(6, false)},
		{"Set never moves back", func(h *SettingsHolder) { h.Set(v(4, false)) }, v(5, true)},
		{"Set of the same version applies", func(h *SettingsHolder) { h.Set(v(5, false)) }, v(5, false)},
		{"Reset applies a lower version (restored database)", func(h *SettingsHolder) {
			e := h.Epoch()
			h.Reset(v(1, false), e)
		}, v(1, false)},
		{"Reset applies a higher version", func(h *SettingsHolder) {
			e := h.Epoch()
			h.Set(v(6, true))
			h.Reset(v(7, false), e)
		}, v(7, false)},
		{"Reset after a Set since its epoch does not move back", func(h *SettingsHolder) {
			e := h.Epoch()
			h.Set(v(6, false))
			h.Reset(v(5, true), e)
		}, v(6, false)},
		{"Reset after a Reset since its epoch does not move back", func(h *SettingsHolder) {
			poll := h.Epoch()
			write := h.Epoch()
			h.Reset(v(6, false), write) // a committed change
			h.Reset(v(5, true), poll)   // a re-read that began before it
		}, v(6, false)},
		{"a later re-read still follows a restored database", func(h *SettingsHolder) {
			e := h.Epoch()
			h.Set(v(6, false))
			h.Reset(v(2, true), e) // raced: ignored
			e = h.Epoch()
			h.Reset(v(2, true), e) // the next re-read
		}, v(2, true)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewSettingsHolder(v(5, true))
			tc.run(h)
			got := h.Get()
			if got.Version != tc.want.Version || got.AreRecordsDiscoverable != tc.want.AreRecordsDiscoverable {
				t.Fatalf("holder has %+v, want %+v", got, tc.want)
			}
		})
	}
}
