package fetch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	getter "github.com/hashicorp/go-getter"

	"github.com/kilnml/kiln/components/ml/dataset"
)

// File copies one file from src to the file dst using go-getter, so src may be a local path,
// a file:// URL, an http(s) URL, or any other go-getter source (s3::, gcs::, git::…//file).
// Relative local paths are resolved against pwd ("" means the working directory). Archives
// are not unpacked unless src asks for it with go-getter's "archive" query parameter.
func File(ctx context.Context, src, dst, pwd string) error {
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

// Import fetches src into dir (named after src's base name, or "data.<format>") and reads it.
// It returns the table and the local path it was stored at.
func Import(ctx context.Context, src, dir string, format dataset.Format, opts dataset.CSVOptions) (*dataset.Table, string, error) {
	if format == "" {
		format = dataset.FormatOf(src)
	}
	base := filepath.Base(strings.SplitN(src, "?", 2)[0])
	if base == "." || base == "/" || base == "" || strings.Contains(base, ":") {
		base = "data." + string(format)
	}
	dst := filepath.Join(dir, base)
	if err := File(ctx, src, dst, ""); err != nil {
		return nil, "", err
	}
	t, err := dataset.ReadFile(ctx, dst, format, opts)
	if err != nil {
		return nil, "", fmt.Errorf("import %q: %w", src, err)
	}
	return t, dst, nil
}
