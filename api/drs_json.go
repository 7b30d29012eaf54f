package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// writeDRSObject writes o as encoding/json writes a drsObject (its field
// order and omitempty rules), without reflection: DRS lists write a hundred
// of these per page. TestWriteDRSObjectMatchesEncodingJSON pins the bytes.
func writeDRSObject(w *jsonWriter, o *drsObject) {
	w.beginObject()
	w.key("id")
	w.str(o.ID)
	if o.Name != "" {
		w.key("name")
		w.str(o.Name)
	}
	w.key("self_uri")
	w.str(o.SelfURI)
	w.key("size")
	w.int(o.Size)
	w.key("created_time")
	w.str(o.CreatedTime)
	if o.UpdatedTime != "" {
		w.key("updated_time")
		w.str(o.UpdatedTime)
	}
	if o.Version != "" {
		w.key("version")
		w.str(o.Version)
	}
	w.key("checksums")
	if o.Checksums == nil {
		w.null()
	} else {
		w.beginArray()
		for _, c := range o.Checksums {
			w.beginObject()
			w.key("checksum")
			w.str(c.Checksum)
			w.key("type")
			w.str(c.Type)
			w.endObject()
		}
		w.endArray()
	}
	w.key("access_methods")
	if o.AccessMethods == nil {
		w.null()
	} else {
		w.beginArray()
		for i := range o.AccessMethods {
			writeDRSAccessMethod(w, &o.AccessMethods[i])
		}
		w.endArray()
	}
	if o.Description != "" {
		w.key("description")
		w.str(o.Description)
	}
	if len(o.Aliases) > 0 {
		w.key("aliases")
		w.strings(o.Aliases)
	}
	w.endObject()
}

func writeDRSAccessMethod(w *jsonWriter, m *drsAccessMethod) {
	w.beginObject()
	w.key("type")
	w.str(m.Type)
	w.key("access_id")
	w.str(m.AccessID)
	if m.AccessURL != nil {
		w.key("access_url")
		w.beginObject()
		w.key("url")
		w.str(m.AccessURL.URL)
		w.endObject()
	}
	if m.Cloud != "" {
		w.key("cloud")
		w.str(m.Cloud)
	}
	if m.Region != "" {
		w.key("region")
		w.str(m.Region)
	}
	if m.Available != nil {
		w.key("available")
		w.bool(*m.Available)
	}
	if a := m.Authorizations; a != nil {
		w.key("authorizations")
		w.beginObject()
		if a.DrsObjectID != "" {
			w.key("drs_object_id")
			w.str(a.DrsObjectID)
		}
		w.key("supported_types")
		w.strings(a.SupportedTypes)
		if len(a.BearerAuthIssuers) > 0 {
			w.key("bearer_auth_issuers")
			w.strings(a.BearerAuthIssuers)
		}
		w.endObject()
	}
	w.endObject()
}

// writeDRSObjectList writes a drsObjectList (GET objects).
func writeDRSObjectList(w *jsonWriter, l *drsObjectList) {
	w.grow(recordSizeHint * len(l.DrsObjects))
	w.beginObject()
	w.key("drs_objects")
	if l.DrsObjects == nil {
		w.null()
	} else {
		w.beginArray()
		for i := range l.DrsObjects {
			writeDRSObject(w, &l.DrsObjects[i])
		}
		w.endArray()
	}
	if l.NextCursor != "" {
		w.key("next_cursor")
		w.str(l.NextCursor)
	}
	w.endObject()
}

// writeOneDRSObject answers with one DrsObject.
func writeOneDRSObject(c echo.Context, o drsObject) error {
	var w jsonWriter
	writeDRSObject(&w, &o)
	return writeJSON(c, http.StatusOK, &w)
}
