// Package client is a typed Go client of Kiln's REST API (backend/api), used by the kiln CLI
// and tests.
//
//	c := client.New("http://127.0.0.1:8080", client.Options{Token: os.Getenv("KILN_TOKEN")})
//	run, err := c.CreateRun(ctx, api.CreateRunRequest{PipelineVersionID: v.ID})
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/kilnml/kiln/backend/api"
)

// Options configures a Client.
type Options struct {
	// Token is sent as a bearer token when set.
	Token string
	// Namespace is the namespace of every call; empty means the server's default.
	Namespace string
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
}

// Client calls one Kiln server. It is safe for concurrent use.
type Client struct {
	base string
	opts Options
	hc   *http.Client
}

// New returns a client of the server at baseURL ("http://127.0.0.1:8080").
func New(baseURL string, opts Options) *Client {
	hc := opts.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), opts: opts, hc: hc}
}

// Error is an error answer of the server.
type Error struct {
	StatusCode int
	Body       api.ErrorBody
}

func (e *Error) Error() string {
	return fmt.Sprintf("server: %d %s: %s", e.StatusCode, e.Body.Code, e.Body.Message)
}

// StatusCode returns the HTTP status of an *Error in err's chain, or 0.
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

func (c *Client) url(path string, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	if c.opts.Namespace != "" {
		q.Set("namespace", c.opts.Namespace)
	}
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// do sends a request with an optional JSON body and decodes a JSON answer into out (if set).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(path, q), body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req, out)
}

func (c *Client) send(req *http.Request, out any) error {
	if c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return decodeError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

func decodeError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var er api.ErrorResponse
	if err := json.Unmarshal(b, &er); err != nil || er.Error.Code == "" {
		er.Error = api.ErrorBody{Code: http.StatusText(resp.StatusCode), Message: strings.TrimSpace(string(b))}
	}
	return &Error{StatusCode: resp.StatusCode, Body: er.Error}
}

// PageOptions select a page of a list.
type PageOptions struct {
	OrderBy   string
	PageSize  int
	PageToken string
}

func (p PageOptions) values() url.Values {
	q := url.Values{}
	if p.OrderBy != "" {
		q.Set("orderBy", p.OrderBy)
	}
	if p.PageSize > 0 {
		q.Set("pageSize", fmt.Sprint(p.PageSize))
	}
	if p.PageToken != "" {
		q.Set("pageToken", p.PageToken)
	}
	return q
}

func esc(s string) string { return url.PathEscape(s) }
