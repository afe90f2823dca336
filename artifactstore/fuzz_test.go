package artifactstore_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnml/kiln/artifactstore"
)

// FuzzResolveStaysInRoots checks that no file:// URI resolves outside the file roots and that
// resolving never panics, whatever the URI.
func FuzzResolveStaysInRoots(f *testing.F) {
	for _, s := range []string{"file:///data/runs/r/a", "file:///data/runs/../x", "file:///data/runs/%2e%2e/x", "file:///data/runs2",
		"s3://b/k?endpoint=http://x", "key/../../etc", "gs://b/k", "file://h/data/runs", "file:///data/runs/a/./../../b"} {
		f.Add(s)
	}
	s, err := artifactstore.New(context.Background(), artifactstore.Options{FileRoots: []string{"/data/runs"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, uri string) {
		bucket, key, err := s.Resolve(uri)
		if err != nil || !strings.HasPrefix(bucket, "file://") {
			return
		}
		if bucket != "file:///data/runs" {
			t.Fatalf("Resolve(%q) bucket = %q, want the only root", uri, bucket)
		}
		full := filepath.Join("/data/runs", filepath.FromSlash(key))
		if full != "/data/runs" && !strings.HasPrefix(full, "/data/runs/") {
			t.Fatalf("Resolve(%q) = %q, outside the root", uri, full)
		}
	})
}

// FuzzTarEntries checks that reading arbitrary bytes as an archive fails cleanly.
func FuzzTarEntries(f *testing.F) {
	f.Add(tgz(f, []string{"a.txt"}, map[string]string{"a.txt": "x"}))
	f.Add([]byte("not gzip"))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, _, err := artifactstore.TarEntries(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Path, "/") || strings.HasPrefix(e.Path, "../") || e.Path == ".." {
				t.Fatalf("entry path %q is not relative and clean", e.Path)
			}
		}
	})
}
