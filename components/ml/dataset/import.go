package dataset

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	getter "github.com/hashicorp/go-getter"
)

// Fetch copies one file from src to the file dst using go-getter, so src may be a local path,
// a file:// URL, an http(s) URL, or any other go-getter source (s3::, gcs::, git::…//file).
// Relative local paths are resolved against pwd ("" means the working directory). Archives
// are not unpacked unless src asks for it with go-getter's "archive" query parameter.
func Fetch(ctx context.Context, src, dst, pwd string) error {
	if pwd == "" {
		wd, err := os.Getwd()
		if err != nil {
			return fmt.Errorf("fetch %q: %w", src, err)
		}
		pwd = wd
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("fetch %q: %w", src, err)
	}
	c := &getter.Client{
		Ctx:  ctx,
		Src:  src,
		Dst:  dst,
		Pwd:  pwd,
		Mode: getter.ClientModeFile,
	}
	if err := c.Get(); err != nil {
		return fmt.Errorf("fetch %q: %w", src, err)
	}
	return nil
}

// Format is a tabular file format.
type Format string

// Supported file formats.
const (
	FormatCSV     Format = "csv"
	FormatParquet Format = "parquet"
)

// FormatOf guesses a file's format from its name (.parquet/.pq → parquet, otherwise csv,
// ignoring a query string).
func FormatOf(name string) Format {
	if i := strings.IndexByte(name, '?'); i >= 0 {
		name = name[:i]
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".parquet", ".pq":
		return FormatParquet
	}
	return FormatCSV
}

// ReadFile reads a local CSV or Parquet file; format "" guesses from the name.
func ReadFile(ctx context.Context, path string, format Format, opts CSVOptions) (*Table, error) {
	if format == "" {
		format = FormatOf(path)
	}
	switch format {
	case FormatCSV:
		return ReadCSVFile(ctx, path, opts)
	case FormatParquet:
		return ReadParquetFile(ctx, path)
	}
	return nil, fmt.Errorf("read %s: unknown format %q (want csv or parquet)", path, format)
}

// Import fetches src into dir (named after src's base name, or "data.<format>") and reads it.
// It returns the table and the local path it was stored at.
func Import(ctx context.Context, src, dir string, format Format, opts CSVOptions) (*Table, string, error) {
	if format == "" {
		format = FormatOf(src)
	}
	base := filepath.Base(strings.SplitN(src, "?", 2)[0])
	if base == "." || base == "/" || base == "" || strings.Contains(base, ":") {
		base = "data." + string(format)
	}
	dst := filepath.Join(dir, base)
	if err := Fetch(ctx, src, dst, ""); err != nil {
		return nil, "", err
	}
	t, err := ReadFile(ctx, dst, format, opts)
	if err != nil {
		return nil, "", fmt.Errorf("import %q: %w", src, err)
	}
	return t, dst, nil
}
