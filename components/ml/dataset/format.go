package dataset

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

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
