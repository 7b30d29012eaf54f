package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"

	"github.com/datacommons/indexd/signing"
)

// Bucket is the demo records' S3 bucket.
const Bucket = "demo-bucket"

// Storage is the embedded default's object store: an in-process S3
// (github.com/rclone/gofakes3, in memory) on the loopback interface that
// holds the demo files and accepts only requests signed with its key, so
// the URLs the access route signs for it really download the demo bytes.
type Storage struct {
	// URL is the S3 endpoint (path-style), http://127.0.0.1:port.
	URL string
	// ConfigPath is the storage configuration file (INDEXD_STORAGE_CONFIG)
	// naming the bucket, written under the state directory.
	ConfigPath string
	srv        *http.Server
}

// StartStorage starts the demo S3 on 127.0.0.1 (a free port), stores the
// demo files, and writes its key and the storage configuration under dir.
// Close stops it.
func StartStorage(ctx context.Context, dir string, log *slog.Logger) (*Storage, error) {
	key := make([]byte, 20)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	keyID, secret := "DEMO"+hex.EncodeToString(key[:8]), hex.EncodeToString(key)
	backend := s3mem.New()
	if err := backend.CreateBucket(ctx, Bucket); err != nil {
		return nil, fmt.Errorf("demo storage: %w", err)
	}
	for _, f := range Files() {
		if _, err := backend.PutObject(ctx, Bucket, f.Name, map[string]string{}, bytes.NewReader(f.Content), int64(len(f.Content))); err != nil {
			return nil, fmt.Errorf("demo storage: put %s: %w", f.Name, err)
		}
	}
	fake := gofakes3.New(backend, gofakes3.WithV4Auth(map[string]string{keyID: secret}), gofakes3.WithLogger(redactingLog{log}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo storage: listen: %w", err)
	}
	s := &Storage{URL: "http://" + l.Addr().String(), srv: &http.Server{Handler: fake.Server(), ReadHeaderTimeout: 5 * time.Second}}
	go func() {
		if err := s.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("demo storage stopped", "err", err)
		}
	}()
	keys := filepath.Join(dir, "demo-s3-keys.yaml")
	if err := os.WriteFile(keys, []byte(fmt.Sprintf("access_key_id: %s\nsecret_access_key: %s\n", keyID, secret)), 0o600); err != nil {
		s.Close()
		return nil, err
	}
	s.ConfigPath = filepath.Join(dir, "storage.yaml")
	cfg := fmt.Sprintf(`# Written by indexd run: the demo bucket lives in an in-process S3.
unsigned: refuse
lifetime: 1h
buckets:
- provider: s3
  bucket: %s
  endpoint: %s
  path_style: true
  credentials: {source: file, file: %s}
`, Bucket, s.URL, keys)
	if err := os.WriteFile(s.ConfigPath, []byte(cfg), 0o600); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close stops the demo S3.
func (s *Storage) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}

// redactingLog passes the fake S3's warnings and errors to the service
// log with every URL's query string redacted (its requests carry
// signatures); its info chatter is dropped.
type redactingLog struct{ log *slog.Logger }

func (r redactingLog) Print(level gofakes3.LogLevel, v ...interface{}) {
	if level == gofakes3.LogInfo {
		return
	}
	parts := make([]string, 0, len(v))
	for _, x := range v {
		parts = append(parts, signing.Redact(signing.RedactText(fmt.Sprint(x))))
	}
	r.log.Warn("demo storage", "msg", strings.Join(parts, " "))
}
