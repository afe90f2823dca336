// Package client is a Go client for Kiln's notebook API (/api/v1/notebooks), used by the kiln CLI
// and by programs that manage notebooks.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/kilnml/kiln/notebooks"
)

// Client calls a Kiln backend. The zero value is not usable; use New.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// New returns a client for the backend at baseURL (e.g. "http://127.0.0.1:8080") that sends token
// as a bearer token when not empty. A nil hc means http.DefaultClient.
func New(baseURL, token string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(baseURL, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("notebook client: invalid server URL %q", baseURL)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: u, token: token, http: hc}, nil
}

// APIError is an error answer from the backend. errors.Is matches it against notebooks.ErrNotFound,
// ErrAlreadyExists, ErrUnauthenticated, ErrForbidden and ErrNotRunning by status code.
type APIError struct {
	notebooks.ErrorBody
}

// Error returns the message and the field problems, one per line.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "\n  %s: %s", f.Field, f.Detail)
	}
	return b.String()
}

// Is maps the status code to the notebooks package's sentinel errors.
func (e *APIError) Is(target error) bool {
	switch e.Code {
	case http.StatusNotFound:
		return target == notebooks.ErrNotFound
	case http.StatusConflict:
		return target == notebooks.ErrAlreadyExists
	case http.StatusUnauthorized:
		return target == notebooks.ErrUnauthenticated
	case http.StatusForbidden:
		return target == notebooks.ErrForbidden
	case http.StatusServiceUnavailable:
		return target == notebooks.ErrNotRunning
	}
	return false
}

// Create creates a notebook in namespace.
func (c *Client) Create(ctx context.Context, namespace string, req notebooks.CreateRequest) (*notebooks.Notebook, error) {
	var nb notebooks.Notebook
	if err := c.do(ctx, http.MethodPost, "/api/v1/notebooks/"+url.PathEscape(namespace), req, &nb); err != nil {
		return nil, fmt.Errorf("create notebook %s/%s: %w", namespace, req.Name, err)
	}
	return &nb, nil
}

// List returns the notebooks of namespace.
func (c *Client) List(ctx context.Context, namespace string) ([]*notebooks.Notebook, error) {
	var out notebooks.ListResponse
	if err := c.do(ctx, http.MethodGet, "/api/v1/notebooks/"+url.PathEscape(namespace), nil, &out); err != nil {
		return nil, fmt.Errorf("list notebooks in %s: %w", namespace, err)
	}
	return out.Notebooks, nil
}

// Get returns one notebook with its current status.
func (c *Client) Get(ctx context.Context, namespace, name string) (*notebooks.Notebook, error) {
	var nb notebooks.Notebook
	if err := c.do(ctx, http.MethodGet, c.path(namespace, name, ""), nil, &nb); err != nil {
		return nil, fmt.Errorf("get notebook %s/%s: %w", namespace, name, err)
	}
	return &nb, nil
}

// Stop stops a notebook, keeping its workspace.
func (c *Client) Stop(ctx context.Context, namespace, name string) (*notebooks.Notebook, error) {
	var nb notebooks.Notebook
	if err := c.do(ctx, http.MethodPost, c.path(namespace, name, "/stop"), nil, &nb); err != nil {
		return nil, fmt.Errorf("stop notebook %s/%s: %w", namespace, name, err)
	}
	return &nb, nil
}

// Start starts a stopped notebook.
func (c *Client) Start(ctx context.Context, namespace, name string) (*notebooks.Notebook, error) {
	var nb notebooks.Notebook
	if err := c.do(ctx, http.MethodPost, c.path(namespace, name, "/start"), nil, &nb); err != nil {
		return nil, fmt.Errorf("start notebook %s/%s: %w", namespace, name, err)
	}
	return &nb, nil
}

// Delete deletes a notebook and its workspace.
func (c *Client) Delete(ctx context.Context, namespace, name string) error {
	if err := c.do(ctx, http.MethodDelete, c.path(namespace, name, ""), nil, nil); err != nil {
		return fmt.Errorf("delete notebook %s/%s: %w", namespace, name, err)
	}
	return nil
}

// Logs returns the last tailLines lines of a notebook server's log.
func (c *Client) Logs(ctx context.Context, namespace, name string, tailLines int) ([]byte, error) {
	var out rawBody
	if err := c.do(ctx, http.MethodGet, c.path(namespace, name, "/logs")+"?tailLines="+strconv.Itoa(tailLines), nil, &out); err != nil {
		return nil, fmt.Errorf("logs of notebook %s/%s: %w", namespace, name, err)
	}
	return out, nil
}

// rawBody receives a non-JSON answer.
type rawBody []byte

// BrowserURL returns the absolute URL of a notebook's status URL (a path) on this backend.
func (c *Client) BrowserURL(statusURL string) string {
	if strings.Contains(statusURL, "://") {
		return statusURL
	}
	return c.base.String() + statusURL
}

func (c *Client) path(namespace, name, suffix string) string {
	return "/api/v1/notebooks/" + url.PathEscape(namespace) + "/" + url.PathEscape(name) + suffix
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		var e notebooks.ErrorResponse
		if json.Unmarshal(b, &e) != nil || e.Error.Message == "" {
			e.Error = notebooks.ErrorBody{Code: resp.StatusCode, Message: fmt.Sprintf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))}
		}
		e.Error.Code = resp.StatusCode
		return &APIError{ErrorBody: e.Error}
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	if raw, ok := out.(*rawBody); ok {
		*raw = b
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}
