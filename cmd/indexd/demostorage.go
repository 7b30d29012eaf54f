package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/datacommons/indexd/internal/app"
	"github.com/datacommons/indexd/internal/demo"
)

// demoStorage starts the embedded default's object store (an in-process S3
// holding the demo files) and, unless INDEXD_STORAGE_CONFIG is set, points
// the service's storage configuration at it, so the access route answers
// URLs signed for it that download the demo bytes.
func demoStorage(ctx context.Context, state string, cfg *app.Config, getenv func(string) string, log *slog.Logger) (*demo.Storage, error) {
	s, err := demo.StartStorage(ctx, state, log)
	if err != nil {
		return nil, err
	}
	if getenv("INDEXD_STORAGE_CONFIG") == "" {
		cfg.StorageConfig = s.ConfigPath
	}
	return s, nil
}

// demoDownloads is the banner's download examples: a signed URL for
// alice's file, and open data for anyone.
func demoDownloads(base string) string {
	const obj = "/ga4gh/drs/v1/objects/dg.DEMO/00000000-0000-4000-8000-00000000000"
	return fmt.Sprintf(`
download (signed URLs from the in-process demo S3):
  curl "$(curl -s -H "Authorization: Bearer $ALICE_TOKEN" %[1]s%[2]s1/access/s3 | jq -r .url)"
  curl "$(curl -s %[1]s%[2]s6/access/s3 | jq -r .url)"   # open data: no token needed
  curl -si -H "Authorization: Bearer $BOB_TOKEN" %[1]s%[2]s3/access/s3   # bob reads p2 but may not download: 403
`, base, obj)
}
