package yamlenc

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	yamlv3 "gopkg.in/yaml.v3"
	"sigs.k8s.io/yaml"
)

// checkValue marshals v and checks that YAML readers return its JSON value.
func checkValue(t *testing.T, v any) {
	t.Helper()
	out, err := Marshal(v)
	if err != nil {
		t.Fatalf("Marshal(%#v): %v", v, err)
	}
	in, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal(%#v): %v", v, err)
	}
	checkRoundTrip(t, in, out)
}

// checkRoundTrip checks that sigs.k8s.io/yaml and gopkg.in/yaml.v3 both read
// the YAML out as the value of the JSON in.
func checkRoundTrip(t *testing.T, in, out []byte) {
	t.Helper()
	viaSigs, err := yaml.YAMLToJSON(out)
	if err != nil {
		t.Fatalf("sigs.k8s.io/yaml cannot read output of %q: %v\nYAML:\n%s", in, err, out)
	}
	var v3 any
	if err := yamlv3.Unmarshal(out, &v3); err != nil {
		t.Fatalf("yaml.v3 cannot read output of %q: %v\nYAML:\n%s", in, err, out)
	}
	viaV3, err := json.Marshal(v3)
	if err != nil {
		t.Fatalf("yaml.v3 read %q as %#v, which is not JSON: %v\nYAML:\n%s", in, v3, err, out)
	}

	var want any
	if err := json.Unmarshal(in, &want); err != nil {
		// Valid JSON that Go cannot hold in an any (a number beyond
		// float64): only require that the YAML parses.
		return
	}
	for _, reader := range []struct {
		name string
		json []byte
	}{{"sigs.k8s.io/yaml", viaSigs}, {"gopkg.in/yaml.v3", viaV3}} {
		var got any
		if err := json.Unmarshal(reader.json, &got); err != nil {
			t.Fatalf("%s: unmarshal %q: %v", reader.name, reader.json, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s reads the YAML of %q differently (-want +got):\n%s\nYAML:\n%s", reader.name, in, diff, out)
		}
	}
}

// hasDuplicateKey reports whether some object in the JSON data repeats a key.
func hasDuplicateKey(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		keys      map[string]bool
		expectKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return false
		}
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{':
				if top != nil && top.keys != nil {
					top.expectKey = true
				}
				stack = append(stack, &frame{keys: map[string]bool{}, expectKey: true})
				continue
			case '[':
				if top != nil && top.keys != nil {
					top.expectKey = true
				}
				stack = append(stack, &frame{})
				continue
			default:
				stack = stack[:len(stack)-1]
				continue
			}
		case string:
			if top != nil && top.keys != nil && top.expectKey {
				if top.keys[tok] {
					return true
				}
				top.keys[tok] = true
				top.expectKey = false
				continue
			}
		}
		if top != nil && top.keys != nil {
			top.expectKey = true
		}
	}
}

func TestHasDuplicateKey(t *testing.T) {
	tests := []struct {
		json string
		want bool
	}{
		{`{"a":1,"b":{"a":2},"c":[{"a":1}]}`, false},
		{`{"a":{"x":1},"a":2}`, true},
		{`[{"a":[1,{}],"b":1,"b":2}]`, true},
		{`{"a":"a","b":"a"}`, false},
	}
	for _, tt := range tests {
		if got := hasDuplicateKey([]byte(tt.json)); got != tt.want {
			t.Errorf("hasDuplicateKey(%s) = %v, want %v", tt.json, got, tt.want)
		}
	}
}

var fuzzSeeds = []string{
	`{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","metadata":{"generateName":"x-"},"spec":{"entrypoint":"main"}}`,
	`[null,true,false,0,-0,1.5e-3,12345678901234567890,"",[],{}]`,
	`{"a":{"b":[{"c":"{{inputs.parameters.x}}"},[1,[2]]]}}`,
	`"line1\nline2\n"`,
	`" lead\n\tx\n\ny"`,
	`"\u0000\u001f\u007f\u0085\u00a0\u2028\u2029\ufeff\ufffe\ud83d\ude00\ud800"`,
	`{"yes":"no","on":"off","~":"null","<<":"=","0x1f":"0o17","1_000":".inf","2001-12-14":"1e3"}`,
	`{"a: b":"c #d","- x":"? y","'q'":"\"q\""}`,
	"#!/bin/sh\necho \"$1\" | tr a-z A-Z\n",
	"python - <<'EOF'\nimport sys\n\tprint(sys.argv)\nEOF",
	"\xff\xfe invalid utf-8 \xc3",
	"tab\tin\nliteral\t\n",
	"a\r\nb",
	"---\n...\n",
	"- a\n- b\n",
	"key: value\n# comment\n",
	`{"` + strings.Repeat("k", 1100) + `":{"x":[1]}}`,
	`{"a":{"parameters":[{"name":"x","value":"123"}]},"b":["a,b","[c]","{d}","e?","f: g","h #i","j:",""]}`,
	`[[{"k,":"v]"},{"?":"{{tasks.a.outputs.parameters.b}}"}],{"yes":["no","1e3","caf\u00e9"]}]`,
	`{"a":["x\ny",{"b":"c"}],"d":{"e":"\t"}}`,
}

// FuzzRoundTrip checks that the YAML for any JSON value reads back as that
// value in sigs.k8s.io/yaml and gopkg.in/yaml.v3, in block style and with
// FlowWidth 60. Inputs that are JSON go through FromJSON as they are; every
// input is also used as a string in the positions a string can take
// (document root, key, sequence item, value, and inside flow collections).
var flowFuzz = Options{FlowWidth: 60}

func FuzzRoundTrip(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := FromJSON(data)
		switch {
		case !json.Valid(data):
			if err == nil {
				t.Fatalf("FromJSON(%q) accepted invalid JSON, produced:\n%s", data, out)
			}
		case errors.Is(err, ErrDuplicateKey):
			if !hasDuplicateKey(data) {
				t.Fatalf("FromJSON(%q) reported a duplicate key that is not there: %v", data, err)
			}
		case err != nil:
			t.Fatalf("FromJSON(%q): %v", data, err)
		default:
			checkRoundTrip(t, data, out)
		}

		flow, flowErr := flowFuzz.AppendFromJSON(nil, data)
		switch {
		case (err == nil) != (flowErr == nil):
			t.Fatalf("FromJSON(%q): block error %v, FlowWidth 60 error %v", data, err, flowErr)
		case err != nil:
			if err.Error() != flowErr.Error() {
				t.Fatalf("FromJSON(%q): block error %v, FlowWidth 60 error %v", data, err, flowErr)
			}
		default:
			checkRoundTrip(t, data, flow)
			checkLowerBound(t, data)
		}

		s := string(data)
		checkValue(t, s)
		v := map[string]any{
			s:    []any{s, map[string]any{"k": s, s: []any{}}},
			"k2": s,
		}
		checkValue(t, v)
		checkValueOptions(t, v, flowFuzz)
		checkValueOptions(t, []any{[]any{s}, map[string]any{s: []any{s, 1}}}, flowFuzz)
	})
}
