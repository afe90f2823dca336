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

	"github.com/kilnml/kiln/internal/fscopy"
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
		if err := fscopy.Copy(src, dst); err != nil {
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
