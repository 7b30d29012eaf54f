// Package demo holds the embedded default's demo data: a static policy with
// two users and an admin, and a handful of records: two programs, an open
// one everyone may discover, and a look-alike (/programs/p10) nobody is
// granted.
package demo

import (
	"context"
	_ "embed"
	"errors"
	"fmt"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/repository"
)

// Policy is the demo static policy file.
//
//go:embed policy.yaml
var Policy []byte

// Users are the demo policy's users, in the order `make run` prints tokens.
var Users = []string{"alice", "bob", "admin"}

func ptr[T any](v T) *T { return &v }

// Records are the demo records (fixed dids so the README's curls work).
func Records() []indexd.NewRecord {
	rec := func(did, name, authz string, size int64, md5 string) indexd.NewRecord {
		return indexd.NewRecord{
			DID: did, Form: ptr(indexd.FormObject), Size: ptr(size), FileName: ptr(name),
			Hashes: map[string]string{"md5": md5},
			URLs:   []string{"s3://demo-bucket/" + name, "https://demo.example.org/files/" + name},
			ACL:    []string{"*"}, Authz: []string{authz},
			Metadata: map[string]string{"demo": "true"},
		}
	}
	return []indexd.NewRecord{
		rec("dg.DEMO/00000000-0000-4000-8000-000000000001", "p1-reads.bam", "/programs/p1/projects/a", 1024, "0123456789abcdef0123456789abcdef"),
		rec("dg.DEMO/00000000-0000-4000-8000-000000000002", "p1-variants.vcf", "/programs/p1/projects/b", 2048, "1123456789abcdef0123456789abcdef"),
		rec("dg.DEMO/00000000-0000-4000-8000-000000000003", "p2-reads.bam", "/programs/p2/projects/c", 4096, "2123456789abcdef0123456789abcdef"),
		rec("dg.DEMO/00000000-0000-4000-8000-000000000004", "p2-notes.txt", "/programs/p2", 10, "3123456789abcdef0123456789abcdef"),
		rec("dg.DEMO/00000000-0000-4000-8000-000000000005", "p10-lookalike.txt", "/programs/p10", 20, "4123456789abcdef0123456789abcdef"),
		rec("dg.DEMO/00000000-0000-4000-8000-000000000006", "open-readme.txt", "/programs/open", 30, "5123456789abcdef0123456789abcdef"),
	}
}

// Load inserts the demo records that are not there yet.
func Load(ctx context.Context, store *repository.Store) (int, error) {
	n := 0
	for _, r := range Records() {
		if _, err := store.Create(ctx, r); err != nil {
			if errors.Is(err, indexd.ErrConflict) {
				continue
			}
			return n, fmt.Errorf("demo: load %s: %w", r.DID, err)
		}
		n++
	}
	return n, nil
}
