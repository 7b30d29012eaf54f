package repository

import (
	"encoding/json"

	sq "github.com/Masterminds/squirrel"

	"github.com/datacommons/indexd"
)

// filterClauses turns a ListFilter into WHERE clauses, one per filter given.
// Each is served by an index (see docs/schema.md) or narrows rows an index
// already selected.
func filterClauses(f *indexd.ListFilter) (sq.And, error) {
	w := sq.And{}
	if len(f.IDs) > 0 {
		w = append(w, sq.Expr("r.did = ANY(?::text[])", f.IDs))
	}
	if f.Start != "" {
		w = append(w, sq.Expr("r.did > ?", f.Start))
	}
	if f.Size != nil {
		w = append(w, sq.Eq{"r.size": *f.Size})
	}
	if f.FileName != nil {
		w = append(w, sq.Eq{"r.file_name": *f.FileName})
	}
	if f.Version != nil {
		w = append(w, sq.Eq{"r.version": *f.Version})
	}
	if f.Uploader != nil {
		w = append(w, sq.Eq{"r.uploader": *f.Uploader})
	}
	if f.Form != nil {
		w = append(w, sq.Eq{"r.form": *f.Form})
	}
	for _, u := range dedupe(f.URLs) {
		w = append(w, sq.Expr("r.did IN (SELECT ru.did FROM record_url ru WHERE ru.url = ?)", u))
	}
	if len(f.Hashes) > 0 {
		w = append(w, containsKVs("r.hashes", f.Hashes))
	}
	if len(f.Metadata) > 0 {
		w = append(w, containsKVs("r.metadata", f.Metadata))
	}
	w = append(w, arrayFilter("r.acl", f.ACL, f.ACLNull)...)
	// authz filters are applied to the visibility scope (ListRecords), as a
	// narrowing of the authz sets; this clause covers other callers.
	w = append(w, arrayFilter("r.authz", f.Authz, f.AuthzNull)...)
	for url, kv := range f.URLsMetadata {
		w = append(w, urlsMetadataClause(url, kv))
	}
	if f.OnlyObjects {
		w = append(w, drsObjectClause())
	}
	if f.Negate != nil {
		neg, err := negationClauses(f.Negate)
		if err != nil {
			return nil, err
		}
		w = append(w, neg...)
	}
	return w, nil
}

// drsObjectClause is indexd.Record.IsDRSObject in SQL: the stored column
// record.drs_object (migrations/00003), which TestDRSObjectColumnMatchesGo
// holds to the Go rule.
func drsObjectClause() sq.Sqlizer { return sq.Expr("r.drs_object") }

// arrayFilter: null selects empty lists, spelled "= '{}'" so that the
// partial index record_acl_empty_did_idx (WHERE acl = '{}') serves acl=null;
// values must all be present (GIN).
func arrayFilter(col string, values []string, null bool) []sq.Sqlizer {
	var out []sq.Sqlizer
	if null {
		out = append(out, sq.Expr(col+" = '{}'::text[]"))
	}
	if len(values) > 0 {
		out = append(out, sq.Expr(col+" @> ?::text[]", values))
	}
	return out
}

// urlsMetadataClause: some url containing the substring carries every k:v.
func urlsMetadataClause(urlSubstr string, kv map[string]string) sq.Sqlizer {
	j, _ := json.Marshal(kv)
	return sq.Expr(`EXISTS (SELECT 1 FROM jsonb_each(r.urls_metadata) e
		WHERE strpos(e.key, ?) > 0 AND e.value @> ?::jsonb)`, urlSubstr, string(j))
}

func negationClauses(n *indexd.Negation) (sq.And, error) {
	w := sq.And{}
	if n.FileName != nil {
		w = append(w, sq.Expr("r.file_name IS DISTINCT FROM ?", *n.FileName))
	}
	if n.Version != nil {
		w = append(w, sq.Expr("r.version IS DISTINCT FROM ?", *n.Version))
	}
	if len(n.URLs) > 0 {
		w = append(w, sq.Expr("NOT (r.urls && ?::text[])", n.URLs))
	}
	if len(n.ACL) > 0 {
		w = append(w, sq.Expr("NOT (r.acl && ?::text[])", n.ACL))
	}
	if len(n.Authz) > 0 {
		w = append(w, sq.Expr("NOT (r.authz && ?::text[])", n.Authz))
	}
	for typ, v := range n.Hashes {
		w = append(w, negatedKV("r.hashes", typ, v))
	}
	for k, v := range n.Metadata {
		w = append(w, negatedKV("r.metadata", k, v))
	}
	for url, kv := range n.URLsMetadata {
		w = append(w, sq.Expr("NOT ?", urlsMetadataClause(url, kv)))
	}
	return w, nil
}

// negatedKV: an empty value negates the key's presence, else the pair.
func negatedKV(col, k, v string) sq.Sqlizer {
	if v == "" {
		return sq.Expr("NOT ("+col+" ?? ?)", k)
	}
	j, _ := json.Marshal(map[string]string{k: v})
	return sq.Expr("NOT ("+col+" @> ?::jsonb)", string(j))
}

// containsKVs: the JSONB column holds every key:value (GIN jsonb_path_ops).
// A repeated key takes its last value, as the parsed filter echoes it.
func containsKVs(col string, kvs []indexd.KV) sq.Sqlizer {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	b, _ := json.Marshal(m)
	return sq.Expr(col+" @> ?::jsonb", string(b))
}

func dedupe(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
