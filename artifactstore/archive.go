package artifactstore

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
)

// TarEntry is one regular file of a tar archive.
type TarEntry struct {
	// Path is the entry's cleaned slash-separated name, without a leading "./" or "/".
	Path    string
	Size    int64
	ModTime time.Time
}

// TarEntries reads a gzipped tar stream to its end and returns its regular files in archive
// order, at most MaxListEntries of them; truncated says whether there were more.
func TarEntries(r io.Reader) (entries []TarEntry, truncated bool, err error) {
	tr, closeGz, err := tarReader(r)
	if err != nil {
		return nil, false, err
	}
	defer closeGz()
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return entries, truncated, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("read archive: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if len(entries) == MaxListEntries {
			return entries, true, nil
		}
		entries = append(entries, TarEntry{Path: entryPath(h.Name), Size: h.Size, ModTime: h.ModTime})
	}
}

// OpenTarEntry reads a gzipped tar stream up to the regular file named name (compared after
// cleaning) and returns a reader of its content, valid until r is read further or closed.
// A missing entry is ErrNotFound.
func OpenTarEntry(r io.Reader, name string) (io.Reader, TarEntry, error) {
	want := entryPath(name)
	tr, _, err := tarReader(r)
	if err != nil {
		return nil, TarEntry{}, err
	}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, TarEntry{}, fmt.Errorf("archive entry %q: %w", name, ErrNotFound)
		}
		if err != nil {
			return nil, TarEntry{}, fmt.Errorf("read archive: %w", err)
		}
		if h.Typeflag == tar.TypeReg && entryPath(h.Name) == want {
			return tr, TarEntry{Path: want, Size: h.Size, ModTime: h.ModTime}, nil
		}
	}
}

func tarReader(r io.Reader) (*tar.Reader, func(), error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, nil, fmt.Errorf("read archive: not gzip: %w", err)
	}
	return tar.NewReader(gz), func() { gz.Close() }, nil
}

// entryPath cleans a tar entry name: "./a//b" and "/a/b" become "a/b".
func entryPath(name string) string {
	p := path.Clean("/" + name)
	return strings.TrimPrefix(p, "/")
}
