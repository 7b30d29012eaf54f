// Package demo holds the embedded default's demo data: a static policy with
// two users and an admin, and a handful of records: two programs, an open
// one everyone may discover, and a look-alike (/programs/p10) nobody is
// granted.
package demo

import (
	"context"
	"crypto/md5"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/repository"
)

// Policy is the demo static policy file.
//
//go:embed policy.yaml
var Policy []byte

// Users are the demo policy's users, in the order `make run` prints tokens.
var Users = []string{"alice", "bob", "admin"}

func ptr[T any](v T) *T { return &v }

// File is a demo file: its name in the demo bucket and its bytes.
type File struct {
	Name    string
	Content []byte
}

// demoFiles are the demo records' files, in record order.
var demoFiles = []struct{ name, authz string }{
	{"p1-reads.bam", "/programs/p1/projects/a"},
	{"p1-variants.vcf", "/programs/p1/projects/b"},
	{"p2-reads.bam", "/programs/p2/projects/c"},
	{"p2-notes.txt", "/programs/p2"},
	{"p10-lookalike.txt", "/programs/p10"},
	{"open-readme.txt", "/programs/open"},
}

// Files are the bytes the demo S3 serves (see StartStorage): a short text
// per file, so `curl` of a signed URL prints it.
func Files() []File {
	out := make([]File, 0, len(demoFiles))
	for _, f := range demoFiles {
		out = append(out, File{Name: f.name, Content: []byte(fmt.Sprintf(
			"indexd demo file %s (authz %s), downloaded through a signed URL\n", f.name, f.authz))})
	}
	return out
}

// Records are the demo records (fixed dids so the README's curls work).
// Size and md5 are those of Files, which the demo S3 serves.
func Records() []indexd.NewRecord {
	files := Files()
	out := make([]indexd.NewRecord, 0, len(files))
	for i, f := range files {
		sum := md5.Sum(f.Content)
		out = append(out, indexd.NewRecord{
			DID:  fmt.Sprintf("dg.DEMO/00000000-0000-4000-8000-%012d", i+1),
			Form: ptr(indexd.FormObject), Size: ptr(int64(len(f.Content))), FileName: ptr(f.Name),
			Hashes: map[string]string{"md5": hex.EncodeToString(sum[:])},
			URLs:   []string{"s3://" + Bucket + "/" + f.Name, "https://demo.example.org/files/" + f.Name},
			ACL:    []string{"*"}, Authz: []string{demoFiles[i].authz},
			Metadata: map[string]string{"demo": "true"},
		})
	}
	return out
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

// Settings are the demo's discovery settings (what `make run` prints):
// records are discoverable only to who may read them.
func Settings() discovery.Settings {
	return discovery.Settings{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: []string{}}
}

// Reset restores the demo state: the demo discovery settings (a change
// audited as by) and every demo record as first loaded (a changed one is
// deleted and created again). Records that are not demo records stay.
// It answers how many demo records were (re)created.
func Reset(ctx context.Context, store *repository.Store, by string, st discovery.Settings) (int, error) {
	if _, err := store.SetSettings(ctx, by, st); err != nil {
		return 0, fmt.Errorf("demo: reset settings: %w", err)
	}
	for _, r := range Records() {
		cur, err := store.GetForWrite(ctx, []string{r.DID})
		if errors.Is(err, indexd.ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("demo: read %s: %w", r.DID, err)
		}
		if err := store.Delete(ctx, cur.DID, cur.Rev); err != nil && !errors.Is(err, indexd.ErrNotFound) {
			return 0, fmt.Errorf("demo: reset %s: %w", r.DID, err)
		}
	}
	return Load(ctx, store)
}
