package api_test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/server"
	"github.com/kilnml/kiln/components/ml/dataset"
	"github.com/kilnml/kiln/components/ml/model"
	"github.com/kilnml/kiln/serving"
)

// call sends a JSON request to the API and decodes the answer into out (when not nil).
func call(t *testing.T, method, url string, in, out any) int {
	t.Helper()
	var body bytes.Buffer
	if in != nil {
		if err := json.NewEncoder(&body).Encode(in); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, url, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil && res.StatusCode < 300 {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
	}
	return res.StatusCode
}

// TestModelEndpoints probes a real OIP v2 server (package serving) serving the model, a version
// whose server does not know the model, a closed port, a server slower than the probe timeout
// and a URL that is not http.
func TestModelEndpoints(t *testing.T) {
	defer api.SetEndpointProbeTimeoutForTest(500 * time.Millisecond)()
	tbl, err := dataset.ReadCSV(strings.NewReader("x,y\n1,3\n2,5\n3,7\n4,9\n"), dataset.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Train(tbl, model.TrainConfig{Kind: model.LinearRegression, Target: "y", Features: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := serving.New(nil, serving.Model{Name: "line", Version: "1", Model: m})
	if err != nil {
		t.Fatal(err)
	}
	oip := httptest.NewServer(srv)
	defer oip.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	e := newEnv(t, sqliteStore(t), server.Config{})
	base := e.url + "/api/v1/models"
	if code := call(t, "POST", base, api.RegisteredModel{Name: "line"}, nil); code != http.StatusCreated {
		t.Fatalf("register model: %d", code)
	}
	versions := []map[string]string{
		{api.EndpointTag: oip.URL + "/"},                                // 1: ready
		{api.EndpointTag: oip.URL, api.EndpointModelTag: "other-model"}, // 2: the server does not serve it
		{api.EndpointTag: closed},                                       // 3: nothing listens
		{api.EndpointTag: slow.URL},                                     // 4: slower than the timeout
		{api.EndpointTag: "ftp://example.invalid/"},                     // 5: not http
		{"team": "ml"}, // 6: not served
	}
	for _, tags := range versions {
		if code := call(t, "POST", base+"/line/versions", api.ModelVersion{Source: "file:///m", Tags: tags}, nil); code != http.StatusCreated {
			t.Fatalf("create version: %d", code)
		}
	}
	if code := call(t, "PUT", base+"/line/aliases/production", api.SetAliasRequest{Version: 1}, nil); code != http.StatusOK {
		t.Fatalf("alias: %d", code)
	}

	var got api.ListModelEndpointsResponse
	start := time.Now()
	if code := call(t, "GET", base+"/line/endpoints?namespace=default", nil, &got); code != http.StatusOK {
		t.Fatalf("endpoints: %d", code)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("probes took %v; they should run in parallel within the 500ms timeout", took)
	}
	type row struct {
		Version       int64
		Model, Status string
		HTTPStatus    int
		Aliases       []string
	}
	var rows []row
	for _, ep := range got.Endpoints {
		rows = append(rows, row{ep.Version, ep.Model, ep.Status, ep.HTTPStatus, ep.Aliases})
		if ep.Status == api.EndpointReady && (ep.LatencyMs <= 0 || ep.Error != "") {
			t.Errorf("version %d: ready with latency %v and error %q", ep.Version, ep.LatencyMs, ep.Error)
		}
		if ep.Status != api.EndpointReady && ep.Error == "" {
			t.Errorf("version %d: %s without an error message", ep.Version, ep.Status)
		}
		if ep.CheckedAt.IsZero() {
			t.Errorf("version %d: no checkedAt", ep.Version)
		}
	}
	want := []row{
		{5, "line", api.EndpointUnreachable, 0, nil},
		{4, "line", api.EndpointUnreachable, 0, nil},
		{3, "line", api.EndpointUnreachable, 0, nil},
		{2, "other-model", api.EndpointUnready, http.StatusNotFound, nil},
		{1, "line", api.EndpointReady, http.StatusOK, []string{"production"}},
	}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("endpoints (-want +got):\n%s", d)
	}
	if code := call(t, "GET", base+"/nope/endpoints", nil, nil); code != http.StatusNotFound {
		t.Errorf("endpoints of an unknown model: %d, want 404", code)
	}
}
