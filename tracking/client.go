package tracking

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Environment variables FromEnv reads; the run manager sets them for every component.
const (
	// EnvAPIURL is the base URL of the Kiln server, such as http://127.0.0.1:8080.
	EnvAPIURL = "KILN_API_URL"
	// EnvRunID is the id of the run the component belongs to.
	EnvRunID = "KILN_RUN_ID"
	// EnvToken is the bearer token the client sends; empty sends none.
	EnvToken = "KILN_TOKEN"
	// EnvNamespace is the namespace of the run; empty means "default".
	EnvNamespace = "KILN_NAMESPACE"
)

// NamespaceHeader carries the namespace on every request (backend/mlflow.NamespaceHeader).
const NamespaceHeader = "X-Kiln-Namespace"

// ErrNotConfigured reports that FromEnv found no server URL or run id in the environment.
var ErrNotConfigured = errors.New("tracking: not configured: " + EnvAPIURL + " and " + EnvRunID + " must be set")

// ErrClosed reports a call on a closed Client.
var ErrClosed = errors.New("tracking: client closed")

// Options configures New. URL and RunID are required; the zero value of every other field
// selects its default.
type Options struct {
	// URL is the server's base URL; the MLflow API is under URL/api/2.0/mlflow/.
	URL string
	// RunID is the run every call logs to.
	RunID string
	// Token is sent as "Authorization: Bearer <Token>" when set.
	Token string
	// Namespace is sent in NamespaceHeader when set.
	Namespace string
	// HTTPClient sends the requests; nil means a client with a 30-second timeout.
	HTTPClient *http.Client
	// FlushInterval is how often buffered items are sent; 0 means DefaultFlushInterval and a
	// negative value disables the periodic flush (items are sent when a request is full, and on
	// Flush and Close).
	FlushInterval time.Duration
	// MaxBuffered bounds the buffered items: a Log call that finds the buffer this full sends it
	// before returning, so a client that logs faster than the server accepts slows down rather
	// than growing without bound. 0 means DefaultMaxBuffered.
	MaxBuffered int
	// MaxRetries is how many times a transiently failing request is retried; 0 means
	// DefaultMaxRetries, negative means none.
	MaxRetries int
	// RetryBackoff is the wait before the first retry, doubled for each next one (with jitter);
	// 0 means DefaultRetryBackoff.
	RetryBackoff time.Duration
	// NoUpload makes LogArtifact record references only, even when the server offers MLflow's
	// artifact proxy.
	NoUpload bool
	// Logger receives errors of background flushes; nil discards them.
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultFlushInterval = 2 * time.Second
	DefaultMaxBuffered   = 100000
	DefaultMaxRetries    = 5
	DefaultRetryBackoff  = 200 * time.Millisecond
)

// Client logs to one run. It is safe for concurrent use. Close it to send what it buffers.
type Client struct {
	opts    Options
	base    string
	hc      *http.Client
	log     *slog.Logger
	buf     buffer
	mu      sync.Mutex // guards buf, params, closed, bgErr
	params  map[string]string
	closed  bool
	bgErr   error
	flushMu sync.Mutex // serializes sends, so batches arrive in logging order
	uriMu   sync.Mutex // guards runURI
	runURI  string     // the run's artifact_uri, read on the first upload
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	now     func() time.Time
}

// FromEnv returns a client for the run named by the environment (see the package
// documentation); ErrNotConfigured when EnvAPIURL or EnvRunID is unset.
func FromEnv() (*Client, error) {
	u, run := os.Getenv(EnvAPIURL), os.Getenv(EnvRunID)
	if u == "" || run == "" {
		return nil, ErrNotConfigured
	}
	return New(Options{URL: u, RunID: run, Token: os.Getenv(EnvToken), Namespace: os.Getenv(EnvNamespace)})
}

// New returns a client and starts its background flusher.
func New(opts Options) (*Client, error) {
	if opts.URL == "" || opts.RunID == "" {
		return nil, errors.New("tracking: URL and RunID are required")
	}
	u, err := url.Parse(opts.URL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("tracking: invalid server URL %q", opts.URL)
	}
	if opts.FlushInterval == 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.MaxBuffered <= 0 {
		opts.MaxBuffered = DefaultMaxBuffered
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = DefaultMaxRetries
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = DefaultRetryBackoff
	}
	c := &Client{opts: opts, base: strings.TrimRight(opts.URL, "/"), hc: opts.HTTPClient, log: opts.Logger,
		params: map[string]string{}, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		now: time.Now}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 30 * time.Second}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	go c.loop()
	return c, nil
}

// RunID returns the run the client logs to.
func (c *Client) RunID() string { return c.opts.RunID }

// loop sends full requests as soon as they are buffered and everything every FlushInterval.
func (c *Client) loop() {
	defer close(c.done)
	var tick <-chan time.Time
	if c.opts.FlushInterval > 0 {
		t := time.NewTicker(c.opts.FlushInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		var err error
		select {
		case <-c.stop:
			return
		case <-c.kick:
			err = c.send(context.Background(), true)
		case <-tick:
			err = c.send(context.Background(), false)
		}
		if err != nil {
			c.log.Error("tracking: background flush failed", "run", c.opts.RunID, "err", err)
			c.mu.Lock()
			if c.bgErr == nil {
				c.bgErr = err
			}
			c.mu.Unlock()
		}
	}
}

// LogParam records a param. Params are write-once: a key logged before with another value is
// an error.
func (c *Client) LogParam(ctx context.Context, key, value string) error {
	return c.LogParams(ctx, map[string]string{key: value})
}

// LogParams records several params (see LogParam).
func (c *Client) LogParams(ctx context.Context, params map[string]string) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	for k, v := range params {
		if old, ok := c.params[k]; ok && old != v {
			c.mu.Unlock()
			return fmt.Errorf("tracking: param %q was logged with value %q, cannot change it to %q", k, old, v)
		}
	}
	for k, v := range params {
		if _, ok := c.params[k]; !ok {
			c.params[k] = v
			c.buf.params = append(c.buf.params, keyValue{Key: k, Value: v})
		}
	}
	return c.added(ctx)
}

// LogMetric records one point of a metric series, timestamped now.
func (c *Client) LogMetric(ctx context.Context, key string, value float64, step int64) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.buf.metrics = append(c.buf.metrics, metric{Key: key, Value: jsonFloat(value), Timestamp: c.now().UnixMilli(), Step: step})
	return c.added(ctx)
}

// LogMetrics records one point of several metric series at the same step.
func (c *Client) LogMetrics(ctx context.Context, metrics map[string]float64, step int64) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	ts := c.now().UnixMilli()
	for k, v := range metrics {
		c.buf.metrics = append(c.buf.metrics, metric{Key: k, Value: jsonFloat(v), Timestamp: ts, Step: step})
	}
	return c.added(ctx)
}

// SetTag sets a tag of the run; a later value of the same key replaces it.
func (c *Client) SetTag(ctx context.Context, key, value string) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.buf.tags = append(c.buf.tags, keyValue{Key: key, Value: value})
	return c.added(ctx)
}

// added runs with c.mu held and releases it: it wakes the flusher when a request is full and
// sends the buffer itself when it holds MaxBuffered items.
func (c *Client) added(ctx context.Context) error {
	n, full := c.buf.len(), c.buf.full()
	c.mu.Unlock()
	if n >= c.opts.MaxBuffered {
		return c.send(ctx, false)
	}
	if full {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// Flush sends everything buffered and returns the first error of this or an earlier
// background send.
func (c *Client) Flush(ctx context.Context) error {
	err := c.send(ctx, false)
	c.mu.Lock()
	bg := c.bgErr
	c.bgErr = nil
	c.mu.Unlock()
	return errors.Join(bg, err)
}

// Close stops the background flusher and sends what is buffered. Later calls log nothing and
// return ErrClosed. When the server stays unreachable through the retries, Close returns the
// error and what was buffered is lost.
func (c *Client) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.closed = true
	c.mu.Unlock()
	close(c.stop)
	<-c.done
	return c.Flush(ctx)
}

// send sends the buffer in requests within MLflow's limits; with onlyFull it sends full
// requests only and keeps the rest buffered. Items of a request that failed transiently (after
// its retries) go back to the front of the buffer; items the server rejected are dropped and
// reported.
func (c *Client) send(ctx context.Context, onlyFull bool) error {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	c.mu.Lock()
	pending := c.buf
	c.buf = buffer{}
	c.mu.Unlock()
	var errs []error
	for !pending.empty() {
		if onlyFull && !pending.full() {
			break
		}
		req := pending.take()
		err := c.logBatch(ctx, req)
		var se *StatusError
		switch {
		case err == nil:
		case errors.As(err, &se) && !se.Transient():
			errs = append(errs, err)
		default:
			pending.prepend(req)
			c.mu.Lock()
			pending.append(c.buf)
			c.buf = pending
			c.mu.Unlock()
			return errors.Join(append(errs, err)...)
		}
	}
	if !pending.empty() {
		c.mu.Lock()
		pending.append(c.buf)
		c.buf = pending
		c.mu.Unlock()
	}
	return errors.Join(errs...)
}

func (c *Client) logBatch(ctx context.Context, b buffer) error {
	body := logBatchRequest{RunID: c.opts.RunID, Metrics: b.metrics, Params: b.params, Tags: b.tags}
	return c.call(ctx, http.MethodPost, "/api/2.0/mlflow/runs/log-batch", body, nil)
}

// StatusError is an error answer of the server.
type StatusError struct {
	Status    int
	ErrorCode string // MLflow's error_code, or Kiln's error code
	Message   string
}

// Error describes the answer.
func (e *StatusError) Error() string {
	return fmt.Sprintf("tracking: server answered %d %s: %s", e.Status, e.ErrorCode, e.Message)
}

// Transient reports whether retrying the request may succeed.
func (e *StatusError) Transient() bool {
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// call sends a JSON request with retries and decodes the JSON answer into out (if not nil).
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("tracking: encode %s: %w", path, err)
	}
	open := func() (io.ReadCloser, int64, error) {
		return io.NopCloser(bytes.NewReader(body)), int64(len(body)), nil
	}
	return c.callBody(ctx, method, path, "application/json", open, out)
}

// callBody sends a request whose body and its size open returns (once per attempt), with
// retries.
func (c *Client) callBody(ctx context.Context, method, path, contentType string, open func() (io.ReadCloser, int64, error), out any) error {
	wait := c.opts.RetryBackoff
	for attempt := 0; ; attempt++ {
		body, size, err := open()
		if err != nil {
			return fmt.Errorf("tracking: %w", err)
		}
		err = c.do(ctx, method, path, contentType, body, size, out)
		var se *StatusError
		if err == nil || ctx.Err() != nil || errors.As(err, &se) && !se.Transient() || attempt >= c.opts.MaxRetries {
			return err
		}
		d := wait/2 + rand.N(wait)
		wait *= 2
		c.log.Debug("tracking: retrying", "path", path, "attempt", attempt+1, "in", d, "err", err)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(d):
		}
	}
}

func (c *Client) do(ctx context.Context, method, path, contentType string, body io.ReadCloser, size int64, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		body.Close()
		return fmt.Errorf("tracking: %w", err)
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", contentType)
	if c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	if c.opts.Namespace != "" {
		req.Header.Set(NamespaceHeader, c.opts.Namespace)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("tracking: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("tracking: read answer of %s: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		se := &StatusError{Status: resp.StatusCode, Message: strings.TrimSpace(string(raw))}
		var mlflow struct {
			ErrorCode string `json:"error_code"`
			Message   string `json:"message"`
			Error     *struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(raw, &mlflow) == nil {
			switch {
			case mlflow.ErrorCode != "":
				se.ErrorCode, se.Message = mlflow.ErrorCode, mlflow.Message
			case mlflow.Error != nil:
				se.ErrorCode, se.Message = mlflow.Error.Code, mlflow.Error.Message
			}
		}
		return se
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("tracking: decode answer of %s: %w", path, err)
		}
	}
	return nil
}
