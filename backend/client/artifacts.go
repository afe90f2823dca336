package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/kilnml/kiln/backend/api"
)

// ArtifactOptions select what an artifact download returns.
type ArtifactOptions struct {
	// MaxBytes, when positive, cuts the content to that many bytes (a preview).
	MaxBytes int64
	// Entry names a file inside a directory or archive artifact.
	Entry string
	// Raw asks for the stored object as is: a .tgz archive is not opened.
	Raw bool
}

func (o ArtifactOptions) values() url.Values {
	q := url.Values{}
	if o.MaxBytes > 0 {
		q.Set("maxBytes", strconv.FormatInt(o.MaxBytes, 10))
	}
	if o.Entry != "" {
		q.Set("entry", o.Entry)
	}
	if o.Raw {
		q.Set("raw", "true")
	}
	return q
}

// ArtifactDownload is an artifact's content as the server streams it. Close it.
type ArtifactDownload struct {
	io.ReadCloser
	// Kind is "file", or "directory"/"archive" when the body is an api.ArtifactListing.
	Kind string
	// ContentType is the content's media type.
	ContentType string
	// FileName is the file's name, from Content-Disposition.
	FileName string
	// Size is the file's full size; -1 when the server did not say (listings).
	Size int64
	// Truncated is true when MaxBytes cut the content short.
	Truncated bool
}

// Listing decodes the body of a directory or archive answer (Kind not "file").
func (d *ArtifactDownload) Listing() (*api.ArtifactListing, error) {
	if d.Kind == "file" {
		return nil, fmt.Errorf("artifact %q is a file, not a listing", d.FileName)
	}
	var l api.ArtifactListing
	if err := json.NewDecoder(d).Decode(&l); err != nil {
		return nil, fmt.Errorf("decode artifact listing: %w", err)
	}
	return &l, nil
}

// RunArtifact downloads the output artifact name of a run's node (its ID, name or display name).
func (c *Client) RunArtifact(ctx context.Context, runID, node, name string, opts ArtifactOptions) (*ArtifactDownload, error) {
	return c.download(ctx, "/api/v1/runs/"+esc(runID)+"/nodes/"+esc(node)+"/artifacts/"+esc(name), opts)
}

// ArtifactContent downloads the content of a tracked or registered artifact.
func (c *Client) ArtifactContent(ctx context.Context, id string, opts ArtifactOptions) (*ArtifactDownload, error) {
	return c.download(ctx, "/api/v1/artifacts/"+esc(id)+"/content", opts)
}

func (c *Client) download(ctx context.Context, path string, opts ArtifactOptions) (*ArtifactDownload, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(path, opts.values()), nil)
	if err != nil {
		return nil, err
	}
	if c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	d := &ArtifactDownload{ReadCloser: resp.Body, Kind: resp.Header.Get(api.HeaderArtifactKind),
		ContentType: resp.Header.Get("Content-Type"), Size: -1, Truncated: resp.Header.Get(api.HeaderTruncated) == "true"}
	if n, err := strconv.ParseInt(resp.Header.Get(api.HeaderArtifactSize), 10, 64); err == nil {
		d.Size = n
	}
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		d.FileName = params["filename"]
	}
	return d, nil
}
