package fscopy

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCopy(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{"a.txt": "a", "sub/b.txt": "bb", "sub/deeper/c": "ccc"}
	for name, body := range files {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(src, "a.txt"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.txt", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "copy")
	if err := Copy(src, dst); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	modes := map[string]fs.FileMode{}
	err := filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dst, p)
		b, err := os.ReadFile(p)
		got[rel] = string(b)
		fi, _ := d.Info()
		modes[rel] = fi.Mode().Perm()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(files, got); d != "" {
		t.Errorf("copied tree (-want +got; the symlink is skipped):\n%s", d)
	}
	if modes["a.txt"] != 0o755 || modes["sub/b.txt"] != 0o640 {
		t.Errorf("modes not kept: %v", modes)
	}

	// A single file, over an existing one.
	one := filepath.Join(t.TempDir(), "one")
	if err := os.WriteFile(one, []byte("old and longer"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Copy(filepath.Join(src, "sub/b.txt"), one); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(one); string(b) != "bb" {
		t.Errorf("file copy = %q, want %q", b, "bb")
	}
	if err := Copy(filepath.Join(src, "missing"), one); !os.IsNotExist(err) {
		t.Errorf("copy of a missing source: %v, want not-exist", err)
	}
}
