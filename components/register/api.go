package register

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/tracking"
)

// MetricTagPrefix prefixes the tags in which APIRegistry keeps a version's metrics (the
// server's model versions have tags but no metrics).
const MetricTagPrefix = "metric."

// APIRegistry is a Registry on a Kiln server's model registry (/api/v1/models). A version's
// source is the artifact path given to Register, which must stay readable by whoever serves
// it (FileRegistry URIs do).
type APIRegistry struct {
	// URL is the server's base URL.
	URL string
	// Token is sent as a bearer token when set.
	Token string
	// Namespace is sent in tracking.NamespaceHeader when set.
	Namespace string
	// RunID is recorded as the versions' run.
	RunID string
	// HTTPClient sends requests; nil means a client with a 30-second timeout.
	HTTPClient *http.Client
}

var _ Registry = APIRegistry{}

// errStatus is a non-2xx reply.
type errStatus struct {
	code int
	msg  string
}

func (e *errStatus) Error() string {
	return fmt.Sprintf("%d %s: %s", e.code, http.StatusText(e.code), e.msg)
}

func (r APIRegistry) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(r.URL, "/")+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	if r.Namespace != "" {
		req.Header.Set(tracking.NamespaceHeader, r.Namespace)
	}
	hc := r.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %w", method, path, &errStatus{resp.StatusCode, string(bytes.TrimSpace(b))})
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

func statusOf(err error) int {
	var e *errStatus
	if errors.As(err, &e) {
		return e.code
	}
	return 0
}

func toVersion(mv api.ModelVersion) Version {
	v := Version{Name: mv.ModelName, Version: int(mv.Version), URI: mv.Source, Created: mv.CreatedAt}
	for k, val := range mv.Tags {
		if m, ok := strings.CutPrefix(k, MetricTagPrefix); ok {
			if f, err := strconv.ParseFloat(val, 64); err == nil {
				if v.Metrics == nil {
					v.Metrics = map[string]float64{}
				}
				v.Metrics[m] = f
			}
			continue
		}
		if v.Metadata == nil {
			v.Metadata = map[string]string{}
		}
		v.Metadata[k] = val
	}
	return v
}

// Register creates the model if needed and adds a version whose source is path.
func (r APIRegistry) Register(ctx context.Context, name, path string, metrics map[string]float64, metadata map[string]string) (Version, error) {
	if err := checkName(name); err != nil {
		return Version{}, err
	}
	if err := r.call(ctx, http.MethodPost, "/api/v1/models", api.RegisteredModel{Name: name}, nil); err != nil && statusOf(err) != http.StatusConflict {
		return Version{}, fmt.Errorf("register %s: %w", name, err)
	}
	tags := map[string]string{}
	for k, v := range metadata {
		tags[k] = v
	}
	for k, v := range metrics {
		tags[MetricTagPrefix+k] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	var mv api.ModelVersion
	req := api.ModelVersion{Source: path, RunID: r.RunID, Tags: tags}
	if err := r.call(ctx, http.MethodPost, "/api/v1/models/"+url.PathEscape(name)+"/versions", req, &mv); err != nil {
		return Version{}, fmt.Errorf("register %s: %w", name, err)
	}
	return toVersion(mv), nil
}

// Alias returns the version alias points at.
func (r APIRegistry) Alias(ctx context.Context, name, alias string) (Version, error) {
	var mv api.ModelVersion
	err := r.call(ctx, http.MethodGet, "/api/v1/models/"+url.PathEscape(name)+"/aliases/"+url.PathEscape(alias), nil, &mv)
	if statusOf(err) == http.StatusNotFound {
		return Version{}, fmt.Errorf("alias %s@%s: %w", name, alias, ErrNoAlias)
	}
	if err != nil {
		return Version{}, fmt.Errorf("alias %s@%s: %w", name, alias, err)
	}
	return toVersion(mv), nil
}

// SetAlias points alias at version.
func (r APIRegistry) SetAlias(ctx context.Context, name, alias string, version int) error {
	err := r.call(ctx, http.MethodPut, "/api/v1/models/"+url.PathEscape(name)+"/aliases/"+url.PathEscape(alias), api.SetAliasRequest{Version: int64(version)}, nil)
	if err != nil {
		return fmt.Errorf("set alias %s@%s: %w", name, alias, err)
	}
	return nil
}

// SetVersionTag sets tag key to value on a version, through the server's MLflow-compatible
// model registry API (model-versions/set-tag), which shares the store behind /api/v1/models.
func (r APIRegistry) SetVersionTag(ctx context.Context, name string, version int, key, value string) error {
	req := map[string]string{"name": name, "version": strconv.Itoa(version), "key": key, "value": value}
	if err := r.call(ctx, http.MethodPost, "/api/2.0/mlflow/model-versions/set-tag", req, nil); err != nil {
		return fmt.Errorf("tag %s version %d: %w", name, version, err)
	}
	return nil
}

// Version returns one version of a model.
func (r APIRegistry) Version(ctx context.Context, name string, version int) (Version, error) {
	var mv api.ModelVersion
	if err := r.call(ctx, http.MethodGet, "/api/v1/models/"+url.PathEscape(name)+"/versions/"+strconv.Itoa(version), nil, &mv); err != nil {
		return Version{}, fmt.Errorf("version %d of %s: %w", version, name, err)
	}
	return toVersion(mv), nil
}

// SetEndpoint records that version of name is served by the Open Inference Protocol server at
// baseURL (tag api.EndpointTag), so the portal can show the endpoint's status.
func (r APIRegistry) SetEndpoint(ctx context.Context, name string, version int, baseURL string) error {
	return r.SetVersionTag(ctx, name, version, api.EndpointTag, baseURL)
}
