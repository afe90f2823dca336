package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	getter "github.com/hashicorp/go-getter"
)

// errNoLocation means an input artifact was given no source at all.
var errNoLocation = errors.New("artifact has no location")

// loadArtifact materialises an input artifact at dst.
func (e *Engine) loadArtifact(ctx context.Context, a *wfv1.Artifact, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	switch {
	case a.Raw != nil:
		if err := os.WriteFile(dst, []byte(a.Raw.Data), 0o644); err != nil {
			return err
		}
	case a.HTTP != nil && strings.HasPrefix(a.HTTP.URL, "file://"):
		src := strings.TrimPrefix(a.HTTP.URL, "file://")
		if a.SubPath != "" {
			src = filepath.Join(src, a.SubPath)
		}
		if err := copyPath(src, dst); err != nil {
			return err
		}
	case a.HTTP != nil:
		if err := download(ctx, a.HTTP, dst); err != nil {
			return err
		}
	case a.Git != nil:
		u := a.Git.Repo
		if !strings.HasPrefix(u, "git::") {
			u = "git::" + u
		}
		if a.Git.Revision != "" {
			u += "?ref=" + a.Git.Revision
		}
		if err := fetchGetter(ctx, u, dst, getter.ClientModeDir); err != nil {
			return err
		}
	default:
		return errNoLocation
	}
	if a.Mode != nil {
		if err := os.Chmod(dst, os.FileMode(*a.Mode)); err != nil {
			return err
		}
	}
	return nil
}

// download fetches an http(s) artifact, or any go-getter URL (git::, s3::,
// gcs::, or a URL with a getter-specific form) through go-getter.
func download(ctx context.Context, h *wfv1.HTTPArtifact, dst string) error {
	if len(h.Headers) == 0 && !strings.HasPrefix(h.URL, "http://") && !strings.HasPrefix(h.URL, "https://") {
		return fetchGetter(ctx, h.URL, dst, getter.ClientModeAny)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
	if err != nil {
		return err
	}
	for _, hd := range h.Headers {
		req.Header.Add(hd.Name, hd.Value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("download %s: %w", h.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("download %s: %s", h.URL, resp.Status)
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("download %s: %w", h.URL, err)
	}
	return f.Close()
}

func fetchGetter(ctx context.Context, src, dst string, mode getter.ClientMode) error {
	pwd, _ := os.Getwd()
	c := &getter.Client{Ctx: ctx, Src: src, Dst: dst, Pwd: pwd, Mode: mode}
	if err := c.Get(); err != nil {
		return fmt.Errorf("fetch %s: %w", src, err)
	}
	return nil
}

// copyPath copies a file or a directory tree.
func copyPath(src, dst string) error {
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return copyFile(src, dst, info.Mode())
	}
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, fi.Mode()|0o700)
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		return copyFile(p, target, fi.Mode())
	})
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
