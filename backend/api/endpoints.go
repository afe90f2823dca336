package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Model version tags that describe where a version is served.
const (
	// EndpointTag is the base URL of an Open Inference Protocol (v2) server serving the version,
	// set by whoever deploys it (components/serve, scripts/run.sh).
	EndpointTag = "kiln.dev/endpoint"
	// EndpointModelTag is the model's name on that server when it differs from the registered
	// name.
	EndpointModelTag = "kiln.dev/endpoint-model"
)

// Endpoint statuses reported by GET /api/v1/models/{name}/endpoints.
const (
	EndpointReady       = "ready"       // the server answered that the model is ready
	EndpointUnready     = "unready"     // the server answered, but not ready (loading, unknown model, error)
	EndpointUnreachable = "unreachable" // no answer within the probe timeout, or not a valid URL
)

// endpointProbeTimeout bounds one readiness probe; a variable so tests can shorten it.
var endpointProbeTimeout = 2 * time.Second

// ModelEndpoint is the serving status of one tagged model version.
type ModelEndpoint struct {
	URL     string   `json:"url"`
	Model   string   `json:"model"`
	Version int64    `json:"version"`
	Aliases []string `json:"aliases,omitempty"`
	// Status is "ready", "unready" or "unreachable".
	Status string `json:"status"`
	// HTTPStatus is the probe's response status, 0 when there was none.
	HTTPStatus int `json:"httpStatus,omitempty"`
	// LatencyMs is how long the probe took, in milliseconds.
	LatencyMs float64   `json:"latencyMs"`
	Error     string    `json:"error,omitempty"`
	CheckedAt time.Time `json:"checkedAt"`
}

// ListModelEndpointsResponse lists the serving endpoints of a model's versions, newest first.
type ListModelEndpointsResponse struct {
	Endpoints []ModelEndpoint `json:"endpoints"`
}

// probeClient does not follow redirects: a readiness URL that redirects is not ready.
var probeClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// modelEndpoints answers GET /api/v1/models/{name}/endpoints: for each version tagged with
// EndpointTag, the backend probes {url}/v2/models/{model}/ready itself (the browser may not
// reach the serving network, and the portal's CSP allows only its own origin) and reports the
// outcome with its latency. Probes run in parallel, each bounded by endpointProbeTimeout.
func (h *Handler) modelEndpoints(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, read)
	if err != nil {
		return err
	}
	ctx := r.Context()
	name := r.PathValue("name")
	if _, err := h.st.GetRegisteredModel(ctx, ns, name); err != nil {
		return fmt.Errorf("model %q: %w", name, err)
	}
	vs, err := h.st.ListModelVersions(ctx, ns, name)
	if err != nil {
		return fmt.Errorf("versions of model %q: %w", name, err)
	}
	aliases, err := h.st.ListAliases(ctx, ns, name)
	if err != nil {
		return fmt.Errorf("aliases of model %q: %w", name, err)
	}
	out := ListModelEndpointsResponse{Endpoints: []ModelEndpoint{}}
	for _, v := range vs {
		base := strings.TrimSpace(v.Tags[EndpointTag])
		if base == "" {
			continue
		}
		ep := ModelEndpoint{URL: base, Model: name, Version: v.Version}
		if m := v.Tags[EndpointModelTag]; m != "" {
			ep.Model = m
		}
		for _, a := range aliases {
			if a.Version == v.Version {
				ep.Aliases = append(ep.Aliases, a.Alias)
			}
		}
		out.Endpoints = append(out.Endpoints, ep)
	}
	var wg sync.WaitGroup
	for i := range out.Endpoints {
		wg.Go(func() { probeEndpoint(ctx, &out.Endpoints[i]) })
	}
	wg.Wait()
	writeJSON(w, http.StatusOK, out)
	return nil
}

// probeEndpoint fills ep's status from GET {url}/v2/models/{model}/ready.
func probeEndpoint(ctx context.Context, ep *ModelEndpoint) {
	ep.CheckedAt = time.Now().UTC()
	u, err := url.Parse(ep.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ep.Status, ep.Error = EndpointUnreachable, fmt.Sprintf("%s is not an http(s) URL", EndpointTag)
		return
	}
	target := strings.TrimRight(ep.URL, "/") + "/v2/models/" + url.PathEscape(ep.Model) + "/ready"
	ctx, cancel := context.WithTimeout(ctx, endpointProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		ep.Status, ep.Error = EndpointUnreachable, err.Error()
		return
	}
	start := time.Now()
	res, err := probeClient.Do(req)
	ep.LatencyMs = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		ep.Status = EndpointUnreachable
		if errors.Is(err, context.DeadlineExceeded) {
			ep.Error = fmt.Sprintf("no answer within %v", endpointProbeTimeout)
		} else {
			ep.Error = err.Error()
		}
		return
	}
	defer res.Body.Close()
	ep.HTTPStatus = res.StatusCode
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4<<10))
	// OIP v2 answers 200 when ready; some servers also send {"ready": false} with 200.
	var ready struct {
		Ready *bool `json:"ready"`
	}
	_ = json.Unmarshal(body, &ready)
	switch {
	case res.StatusCode == http.StatusOK && (ready.Ready == nil || *ready.Ready):
		ep.Status = EndpointReady
	default:
		ep.Status = EndpointUnready
		ep.Error = strings.TrimSpace(string(body))
		if len(ep.Error) > 200 {
			ep.Error = ep.Error[:200]
		}
		if ep.Error == "" {
			ep.Error = res.Status
		}
	}
}
