package integration

// Helpers of the issue 12 attack tests (no one takes over a record, an id,
// an alias or a version chain that is not theirs).

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/datacommons/indexd/internal/app"
	"github.com/datacommons/indexd/repository"
)

// tkUser registers a token holder with indexd grants and returns its
// Authorization header.
func tkUser(e *Env, name string, grants map[string][]string) string {
	tk := Tok(name)
	e.Policy.SetUser(tk, name, grants)
	return Bearer(tk)
}

// tkDID is a new did ending in a UUID (issue 10's rule), under prefix.
func tkDID(prefix string) string { return prefix + repository.NewUUID() }

func withPrefix(prefix string, prepend bool) Option {
	return func(c *app.Config) { c.DefaultPrefix, c.PrependPrefix = prefix, prepend }
}

// tkRef decodes a write's {did, rev, baseid}.
func tkRef(t *testing.T, r *Response) (did, rev, baseid string) {
	t.Helper()
	var ref struct{ DID, Rev, BaseID string }
	r.JSON(t, &ref)
	return ref.DID, ref.Rev, ref.BaseID
}

// tkDIDOf reads the did a single-record answer names ("" when not 200).
func tkDIDOf(r *Response) string {
	if r.Status != http.StatusOK {
		return ""
	}
	var v struct{ DID, ID string }
	_ = json.Unmarshal(r.Body, &v)
	return v.DID + v.ID
}
