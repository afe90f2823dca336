package mlflow

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/backend/filter"
)

func TestRunFilterCEL(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "  ", ""},
		{"metric", "metrics.acc > 0.9", `metrics["acc"] > 0.9`},
		{"integer metric value becomes a double", "metrics.loss <= 1", `metrics["loss"] <= 1.0`},
		{"param", "params.opt = 'adam'", `params["opt"] == "adam"`},
		{"double-quoted value and doubled quote", `tags."a.b" != "it''s"`, `tags["a.b"] != "it''s"`},
		{"escaped single quote", `params.x = 'it''s'`, `params["x"] == "it's"`},
		{"backticks", "metrics.`val-loss` < 2.5e-3", `metrics["val-loss"] < 0.0025`},
		{"AND, case-insensitive", "params.a = 'x' and tags.b = 'y' AND metrics.c = 1", `params["a"] == "x" && tags["b"] == "y" && metrics["c"] == 1.0`},
		{"status", "attributes.status = 'FINISHED'", `phase in ["Succeeded", "Skipped", "Omitted"]`},
		{"status !=", "attribute.status != 'RUNNING'", `!(phase in ["Running"])`},
		{"status IN", "status IN ('FAILED','KILLED')", `phase in ["Failed", "Error", "Cancelled"]`},
		{"run name prefix", "attributes.run_name LIKE 'exp%'", `name.startsWith("exp")`},
		{"run name suffix", "run.run_name LIKE '%v2'", `name.endsWith("v2")`},
		{"param substring", "params.model LIKE '%net%'", `params["model"].contains("net")`},
		{"LIKE without wildcard", "tags.t LIKE 'abc'", `tags["t"] == "abc"`},
		{"IN", "params.o IN ('a', 'b')", `params["o"] in ["a", "b"]`},
		{"start time", "attributes.start_time > 1700000000000", `started_at > timestamp("2023-11-14T22:13:20Z")`},
		{"user", "attributes.user_id = 'bob'", `created_by == "bob"`},
		{"run id", "attributes.run_id IN ('a','b')", `id in ["a", "b"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runFilterCEL(tc.in)
			if err != nil {
				t.Fatalf("runFilterCEL(%q): %v", tc.in, err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("runFilterCEL(%q) (-want +got):\n%s", tc.in, d)
			}
			if got == "" {
				return
			}
			if _, err := filter.Parse(got); err != nil {
				t.Errorf("Kiln's filter rejects the translation %q: %v", got, err)
			}
		})
	}
}

func TestRunFilterCELErrors(t *testing.T) {
	for _, in := range []string{
		"metrics.acc",
		"metrics.acc > ",
		"metrics.acc > 'x'",
		"params.a > 1",
		"params.a < 'b'",
		"tags.t ILIKE 'a%'",
		"params.p LIKE 'a%b'",
		"a.b = 'c'",
		"attributes.nope = 'x'",
		"attributes.status = 'DONE'",
		"attributes.start_time = 'yesterday'",
		"metrics.a > 1 OR metrics.b > 1",
		"params.a = 'x' AND",
		"params.a = 'unterminated",
		"params.a IN 'x'",
		"params.a IN ('x', 1)",
		"params.`a = 'x'",
		"metrics. > 1",
		"params.a NOT IN ('x')",
	} {
		t.Run(in, func(t *testing.T) {
			_, err := runFilterCEL(in)
			var ae *apiError
			if !errors.As(err, &ae) || ae.code != codeInvalidParameter {
				t.Errorf("runFilterCEL(%q) = %v, want INVALID_PARAMETER_VALUE", in, err)
			}
		})
	}
}

func TestMemoryFilter(t *testing.T) {
	tags := map[string]string{"team": "Vision"}
	for _, tc := range []struct {
		filter string
		want   bool
	}{
		{"", true},
		{"name = 'my_exp'", true},
		{"name != 'my_exp'", false},
		{"name LIKE 'my%'", true},
		{"name LIKE 'my_e%'", true},
		{"name LIKE 'MY%'", false},
		{"name ILIKE 'MY%'", true},
		{"tags.team = 'Vision' AND name LIKE '%exp'", true},
		{"tags.team ILIKE 'vision'", true},
		{"tags.missing = 'x'", false},
		{"name IN ('a', 'my_exp')", true},
	} {
		match, err := parseNameTagFilter(tc.filter, true)
		if err != nil {
			t.Errorf("parse %q: %v", tc.filter, err)
			continue
		}
		if got := match("my_exp", tags); got != tc.want {
			t.Errorf("%q matches %v, want %v", tc.filter, got, tc.want)
		}
	}
	for _, bad := range []string{"metrics.a > 1", "name > 'a'", "name = 1", "params.p = 'x'"} {
		if _, err := parseNameTagFilter(bad, true); err == nil {
			t.Errorf("parse %q: no error", bad)
		}
	}
}

func TestMetricDecoding(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want metricFields
	}{
		{`{"key":"a","value":1.5,"timestamp":10,"step":2}`, metricFields{"a", 1.5, 10, 2}},
		{` { "step" : "3" , "timestamp" : "11", "value": -2e3, "key": "b" } `, metricFields{"b", -2000, 11, 3}},
		{`{"key":"esc\"aped","value":1,"timestamp":1}`, metricFields{`esc"aped`, 1, 1, 0}},
		{`{"key":"x","value":"Infinity","timestamp":1,"extra":true}`, metricFields{"x", float(math.Inf(1)), 1, 0}},
		{`{"key":"x","value":"-Infinity","timestamp":null}`, metricFields{"x", float(math.Inf(-1)), 0, 0}},
		{`{}`, metricFields{}},
	} {
		var m metric
		if err := json.Unmarshal([]byte(tc.in), &m); err != nil {
			t.Errorf("decode %s: %v", tc.in, err)
			continue
		}
		if d := cmp.Diff(tc.want, metricFields(m)); d != "" {
			t.Errorf("decode %s (-want +got):\n%s", tc.in, d)
		}
	}
	var m metric
	if err := json.Unmarshal([]byte(`{"key":"x","value":"NaN","timestamp":1}`), &m); err != nil || !math.IsNaN(float64(m.Value)) {
		t.Errorf("NaN: %v %v", m.Value, err)
	}
	for _, bad := range []string{`{"key":"x","value":"high"}`, `{"key":"x","step":1.5}`, `{"key":1}`, `[]`} {
		if err := json.Unmarshal([]byte(bad), &m); err == nil {
			t.Errorf("decode %s: no error", bad)
		}
	}
}

// FuzzMetricDecoding checks that the fast path agrees with encoding/json on every input it
// accepts.
func FuzzMetricDecoding(f *testing.F) {
	f.Add(`{"key":"a","value":1.5,"timestamp":10,"step":2}`)
	f.Add(`{"step":"3","timestamp":"11","value":"NaN","key":"b"}`)
	f.Add("{\"key\":\"\xff\xfe\",\"value\":1}")
	f.Add(`{"key":"é","value":1e400}`)
	f.Fuzz(func(t *testing.T, in string) {
		if !json.Valid([]byte(in)) {
			return
		}
		var m metric
		if !fast([]byte(in), &m) {
			return
		}
		var want metricFields
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatalf("fast path accepted %s, encoding/json: %v", in, err)
		}
		if !cmp.Equal(want, metricFields(m), cmp.Comparer(func(a, b float) bool { return a == b || a != a && b != b })) {
			t.Fatalf("fast path %+v, encoding/json %+v for %s", m, want, in)
		}
	})
}
