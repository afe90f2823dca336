package serving

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/components/ml/dataset"
	"github.com/kilnml/kiln/components/ml/model"
	"github.com/kilnml/kiln/components/ml/model/linear"
	"github.com/kilnml/kiln/components/ml/preprocess"
)

// testModel is a logistic model over x (numeric) and color (categorical) trained on rows
// where the label is "hi" exactly when x > 5, and a linear regression y = 2x + 1.
func testModels(t *testing.T) []Model {
	t.Helper()
	tbl, err := dataset.ReadCSV(strings.NewReader("x,color,label,y\n1,red,lo,3\n2,blue,lo,5\n3,red,lo,7\n4,blue,lo,9\n6,red,hi,13\n7,blue,hi,15\n8,red,hi,17\n9,blue,hi,19\n"), dataset.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clf, err := model.Train(tbl, model.TrainConfig{Kind: model.LogisticRegression, Target: "label", Features: []string{"x", "color"},
		Preprocess: preprocess.Config{Scaling: preprocess.ScaleStandard}, Linear: linear.Config{L2: 0.01}})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := model.Train(tbl, model.TrainConfig{Kind: model.LinearRegression, Target: "y", Features: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	return []Model{{Name: "clf", Version: "3", Model: clf}, {Name: "reg", Model: reg}}
}

func do(t *testing.T, h http.Handler, method, path, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewBufferString(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: body %q is not a JSON object", method, path, b)
	}
	return rec.Code, out
}

func TestEndpoints(t *testing.T) {
	srv, err := New(nil, testModels(t)...)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path, body string
		code                     int
		want                     map[string]any // a subset of the reply
	}{
		{"live", "GET", "/v2/health/live", "", 200, map[string]any{"live": true}},
		{"ready", "GET", "/v2/health/ready", "", 200, map[string]any{"ready": true}},
		{"server", "GET", "/v2", "", 200, map[string]any{"name": "kiln-serve"}},
		{"model ready", "GET", "/v2/models/clf/ready", "", 200, map[string]any{"ready": true}},
		{"version ready", "GET", "/v2/models/clf/versions/3/ready", "", 200, map[string]any{"ready": true}},
		{"unknown version", "GET", "/v2/models/clf/versions/4/ready", "", 404, nil},
		{"unknown model", "GET", "/v2/models/nope", "", 404, nil},
		{"metadata", "GET", "/v2/models/clf", "", 200, map[string]any{"name": "clf", "platform": "kiln/logistic_regression",
			"inputs": []any{map[string]any{"name": "x", "datatype": "FP64", "shape": []any{-1.0}}, map[string]any{"name": "color", "datatype": "BYTES", "shape": []any{-1.0}}}}},
		{"infer by feature", "POST", "/v2/models/clf/infer",
			`{"id":"a","inputs":[{"name":"x","shape":[3],"datatype":"FP64","data":[0,5.5,10]},{"name":"color","shape":[3,1],"datatype":"BYTES","data":[["red"],["blue"],["green"]]}],"outputs":[{"name":"label"}]}`,
			200, map[string]any{"id": "a", "model_name": "clf", "model_version": "3",
				"outputs": []any{map[string]any{"name": "label", "datatype": "BYTES", "shape": []any{3.0}, "data": []any{"lo", "hi", "hi"}}}}},
		{"regressor, one [N,F] tensor", "POST", "/v2/models/reg/infer",
			`{"inputs":[{"name":"input-0","shape":[2,1],"datatype":"FP64","data":[[0],[10]]}]}`,
			200, map[string]any{"model_name": "reg"}},
		{"unknown input", "POST", "/v2/models/clf/infer", `{"inputs":[{"name":"z","shape":[1],"datatype":"FP64","data":[1]}]}`, 400, nil},
		{"shape mismatch", "POST", "/v2/models/clf/infer", `{"inputs":[{"name":"x","shape":[2],"datatype":"FP64","data":[1]}]}`, 400, nil},
		{"row mismatch", "POST", "/v2/models/clf/infer", `{"inputs":[{"name":"x","shape":[2],"datatype":"FP64","data":[1,2]},{"name":"color","shape":[1],"datatype":"BYTES","data":["red"]}]}`, 400, nil},
		{"not a number", "POST", "/v2/models/reg/infer", `{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":["ten"]}]}`, 400, nil},
		{"bad JSON", "POST", "/v2/models/clf/infer", `{`, 400, nil},
		{"no inputs", "POST", "/v2/models/clf/infer", `{"inputs":[]}`, 400, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, got := do(t, srv, tc.method, tc.path, tc.body)
			if code != tc.code {
				t.Fatalf("status %d, want %d: %v", code, tc.code, got)
			}
			if code != 200 {
				if got["error"] == "" || got["error"] == nil {
					t.Errorf("error reply without a message: %v", got)
				}
				return
			}
			for k, w := range tc.want {
				if diff := cmp.Diff(w, got[k]); diff != "" {
					t.Errorf("%s (-want +got):\n%s", k, diff)
				}
			}
		})
	}
}

func TestInferRegression(t *testing.T) {
	m := testModels(t)[1]
	resp, err := Infer(m, &InferRequest{Inputs: []Tensor{{Name: "x", Shape: []int{2}, Datatype: "FP64", Data: []any{0.0, 10.0}}}})
	if err != nil {
		t.Fatal(err)
	}
	got := resp.Outputs[0].Data
	if len(got) != 2 || abs(got[0].(float64)-1) > 1e-9 || abs(got[1].(float64)-21) > 1e-9 {
		t.Errorf("values %v, want [1 21] (y = 2x + 1)", got)
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func TestNew(t *testing.T) {
	ms := testModels(t)
	for _, bad := range [][]Model{{{Name: "", Model: ms[0].Model}}, {{Name: "a/b", Model: ms[0].Model}}, {{Name: "a"}}, {ms[0], ms[0]}} {
		if _, err := New(nil, bad...); err == nil {
			t.Errorf("New(%+v) accepted", bad)
		}
	}
}
