package yamlenc

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	yamlv3 "gopkg.in/yaml.v3"
	"sigs.k8s.io/yaml"
)

func TestFlowLayout(t *testing.T) {
	tests := []struct {
		name  string
		width int
		json  string
		want  string
	}{
		{
			name:  "width zero keeps block style",
			width: 0,
			json:  `{"a":{"b":[1]}}`,
			want:  "a:\n  b:\n  - 1\n",
		},
		{
			name:  "negative width keeps block style",
			width: -1,
			json:  `{"a":[1]}`,
			want:  "a:\n- 1\n",
		},
		{
			name:  "document root is never flow",
			width: 80,
			json:  `{"a":1}`,
			want:  "a: 1\n",
		},
		{
			name:  "root sequence items flow",
			width: 80,
			json:  `[[1,2],{"a":"b"},3]`,
			want:  "- [1, 2]\n- {a: b}\n- 3\n",
		},
		{
			name:  "dag task",
			width: 80,
			json:  `{"tasks":[{"name":"square-123","template":"square","arguments":{"parameters":[{"name":"x","value":"123"}]},"depends":"square-122"}]}`,
			want: "tasks:\n" +
				"- name: square-123\n" +
				"  template: square\n" +
				"  arguments: {parameters: [{name: x, value: '123'}]}\n" +
				"  depends: square-122\n",
		},
		{
			name:  "outer too wide, inner fits",
			width: 30,
			json:  `{"arguments":{"parameters":[{"name":"x","value":"123"}]}}`,
			want: "arguments:\n" +
				"  parameters: [{name: x, value: '123'}]\n",
		},
		{
			// [{name: x, value: '123'}] is exactly 25 bytes.
			name:  "exact fit",
			width: 25,
			json:  `{"p":[{"name":"x","value":"123"}]}`,
			want:  "p: [{name: x, value: '123'}]\n",
		},
		{
			name:  "one byte over",
			width: 24,
			json:  `{"p":[{"name":"x","value":"123"}]}`,
			want:  "p:\n- {name: x, value: '123'}\n",
		},
		{
			name:  "width measures rendered text, not JSON",
			width: 12,
			json:  `{"p":[ "a" , "b" , "c" ] }`,
			want:  "p: [a, b, c]\n",
		},
		{
			name:  "empty collections inside flow",
			width: 80,
			json:  `{"a":[{},[],{"b":{}}]}`,
			want:  "a: [{}, [], {b: {}}]\n",
		},
		{
			name:  "scalars of every kind",
			width: 80,
			json:  `{"a":[true,false,null,-1.5e+3,0,"s"]}`,
			want:  "a: [true, false, null, -1.5e+3, 0, s]\n",
		},
		{
			name:  "huge width does not overflow",
			width: math.MaxInt,
			json:  `{"a":{"b":[1,"x"]}}`,
			want:  "a: {b: [1, x]}\n",
		},
		{
			name:  "multi-line string stays block",
			width: 80,
			json:  `{"a":{"src":"x\ny\n","m":1},"b":["a\r\nb"]}`,
			want: "a:\n" +
				"  src: |\n" +
				"    x\n" +
				"    y\n" +
				"  m: 1\n" +
				"b:\n" +
				"- \"a\\r\\nb\"\n",
		},
		{
			name:  "multi-line key stays block",
			width: 80,
			json:  `{"a":{"k\nl":1}}`,
			want:  "a:\n  \"k\\nl\": 1\n",
		},
		{
			name:  "key needing explicit form stays block",
			width: 4000,
			json:  `{"a":{"` + strings.Repeat("k", 1001) + `":1}}`,
			want:  "a:\n  ? " + strings.Repeat("k", 1001) + "\n  : 1\n",
		},
		{
			name:  "after explicit key",
			width: 80,
			json:  `{"` + strings.Repeat("k", 1001) + `":{"a":[1]}}`,
			want:  "? " + strings.Repeat("k", 1001) + "\n: {a: [1]}\n",
		},
		{
			name:  "nested sequences flow from the outermost that fits",
			width: 20,
			json:  `{"a":[[1,[2,3]],["long-item-long-ite"]]}`,
			want: "a:\n" +
				"- [1, [2, 3]]\n" +
				"- [long-item-long-ite]\n",
		},
		{
			name:  "look-ahead bound refuses heavily padded JSON",
			width: 10,
			json:  `{"a":[1` + strings.Repeat(" ", 4*10+64) + `]}`,
			want:  "a:\n- 1\n",
		},
		{
			name:  "padding within the look-ahead bound is fine",
			width: 10,
			json:  `{"a":[1` + strings.Repeat(" ", 4*10+60) + `]}`,
			want:  "a: [1]\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{FlowWidth: tt.width}
			got, err := opts.FromJSON([]byte(tt.json))
			if err != nil {
				t.Fatalf("FromJSON(%.60s): %v", tt.json, err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("FromJSON(%.60s) with FlowWidth %d mismatch (-want +got):\n%s", tt.json, tt.width, diff)
			}
			checkRoundTrip(t, []byte(tt.json), got)
		})
	}
}

// TestFlowQuoting checks every string hazard inside a flow collection, both as
// a sequence item and as a mapping key and value.
func TestFlowQuoting(t *testing.T) {
	tests := []struct {
		in   string
		want string // rendering inside flow context
	}{
		{in: "plain", want: "plain"},
		{in: "", want: "''"},
		{in: "a,b", want: "'a,b'"},
		{in: "a[0]", want: "'a[0]'"},
		{in: "x]", want: "'x]'"},
		{in: "a{b}", want: "'a{b}'"},
		{in: "a}", want: "'a}'"},
		{in: "why?", want: "'why?'"},
		{in: "a: b", want: "'a: b'"},
		{in: "trailing:", want: "'trailing:'"},
		{in: "a:b", want: "a:b"},
		{in: "http://x.io/p", want: "http://x.io/p"},
		{in: "a #b", want: "'a #b'"},
		{in: "a#b", want: "a#b"},
		{in: "#c", want: "'#c'"},
		{in: "yes", want: "'yes'"},
		{in: "Off", want: "'Off'"},
		{in: "null", want: "'null'"},
		{in: "~", want: "'~'"},
		{in: "123", want: "'123'"},
		{in: "1e3", want: "'1e3'"},
		{in: "0x1F", want: "'0x1F'"},
		{in: "-.5", want: "'-.5'"},
		{in: "2001-12-14", want: "'2001-12-14'"},
		{in: "--flag", want: "--flag"},
		{in: "-", want: "'-'"},
		{in: " lead", want: "' lead'"},
		{in: "trail ", want: "'trail '"},
		{in: "it's", want: "it's"},
		{in: "'q'", want: "'''q'''"},
		{in: `"dq"`, want: `'"dq"'`},
		{in: "tab\there", want: `"tab\there"`},
		{in: "nul\x00", want: `"nul\x00"`},
		{in: "h\u00e9llo \U0001F600", want: "h\u00e9llo \U0001F600"},
		{in: "caf\u00e9,bar", want: "'caf\u00e9,bar'"},
		{in: "bom\ufeff", want: `"bom\uFEFF"`},
		{in: "{{tasks.a.outputs.parameters.b}}", want: "'{{tasks.a.outputs.parameters.b}}'"},
		{in: "x-{{item}}", want: "'x-{{item}}'"},
		{in: "&anchor", want: "'&anchor'"},
		{in: "*alias", want: "'*alias'"},
		{in: "!tag", want: "'!tag'"},
		{in: "%", want: "'%'"},
		{in: "|", want: "'|'"},
		{in: "@x", want: "'@x'"},
		{in: "a, b: c", want: "'a, b: c'"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v := map[string]any{"v": []any{tt.in, map[string]any{tt.in: tt.in}}}
			got, err := Options{FlowWidth: 1000}.Marshal(v)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			want := "v: [" + tt.want + ", {" + tt.want + ": " + tt.want + "}]\n"
			if diff := cmp.Diff(want, string(got)); diff != "" {
				t.Errorf("flow quoting of %q (-want +got):\n%s", tt.in, diff)
			}
			checkValue(t, v)
			checkValueOptions(t, v, Options{FlowWidth: 1000})
		})
	}
}

// TestFlowErrors checks that flow style reports malformed input inside a
// collection exactly as block style does and leaves dst alone.
func TestFlowErrors(t *testing.T) {
	tests := []struct {
		name string
		json string
	}{
		{name: "trailing comma", json: `{"a":[1,]}`},
		{name: "unterminated", json: `{"a":[1,2`},
		{name: "bad literal", json: `{"a":[tru]}`},
		{name: "bad number", json: `{"a":[01]}`},
		{name: "bad escape", json: `{"a":["\q"]}`},
		{name: "non-string key", json: `{"a":{1:2}}`},
		{name: "missing colon", json: `{"a":{"b" 1}}`},
		{name: "duplicate key", json: `{"a":{"b":1,"b":2}}`},
		{name: "duplicate key via escape", json: `{"a":[{"b":1,"\u0062":2}]}`},
		{name: "too deep", json: `{"a":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, blockErr := AppendFromJSON(nil, []byte(tt.json))
			if blockErr == nil {
				t.Fatalf("block style accepted %.60s", tt.json)
			}
			got, flowErr := Options{FlowWidth: 80}.AppendFromJSON([]byte("keep"), []byte(tt.json))
			if flowErr == nil {
				t.Fatalf("flow style accepted %.60s, produced:\n%s", tt.json, got)
			}
			if string(got) != "keep" {
				t.Errorf("AppendFromJSON returned %q on error, want dst unchanged", got)
			}
			if blockErr.Error() != flowErr.Error() {
				t.Errorf("flow error %q differs from block error %q", flowErr, blockErr)
			}
			if errors.Is(blockErr, ErrDuplicateKey) != errors.Is(flowErr, ErrDuplicateKey) {
				t.Errorf("ErrDuplicateKey mismatch: block %v, flow %v", blockErr, flowErr)
			}
		})
	}
}

// TestFlowDeepNesting checks that a deep, wide document, where every level's
// look-ahead fails, converts and reads back.
func TestFlowDeepNesting(t *testing.T) {
	const depth = 3000
	in := strings.Repeat(`{"k":[`, depth) + `"` + strings.Repeat("x", 200) + `"` + strings.Repeat(`]}`, depth)
	out, err := Options{FlowWidth: 80}.FromJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	// Every collection holds the 200-byte string, so none fits.
	if strings.Contains(string(out), "{") {
		t.Errorf("flow collection written although every collection is wider than 80 bytes:\n%.400s", out)
	}
	want, err := FromJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(out)); diff != "" {
		t.Errorf("flow output differs from block output (-block +flow):\n%.2000s", diff)
	}
}

// checkValueOptions is checkValue for a non-default layout.
func checkValueOptions(t *testing.T, v any, opts Options) {
	t.Helper()
	out, err := opts.Marshal(v)
	if err != nil {
		t.Fatalf("Marshal(%#v) with %+v: %v", v, opts, err)
	}
	in, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	checkRoundTrip(t, in, out)
}

func TestWorkflowRoundTripFlow(t *testing.T) {
	want := realisticWorkflow(20)
	block, err := Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, width := range []int{1, 60, 80, 1 << 20} {
		opts := Options{FlowWidth: width}
		out, err := opts.Marshal(want)
		if err != nil {
			t.Fatalf("FlowWidth %d: Marshal: %v", width, err)
		}
		var got wfv1.Workflow
		if err := yaml.UnmarshalStrict(out, &got); err != nil {
			t.Fatalf("FlowWidth %d: sigs.k8s.io/yaml.UnmarshalStrict: %v\nYAML:\n%s", width, err, out)
		}
		if diff := cmp.Diff(*want, got, quantityEqual); diff != "" {
			t.Errorf("FlowWidth %d: Workflow changed in a YAML round trip (-want +got):\n%s\nYAML:\n%s", width, diff, out)
		}
		var a, b any
		if err := yamlv3.Unmarshal(out, &a); err != nil {
			t.Fatalf("FlowWidth %d: yaml.v3: %v", width, err)
		}
		if err := yamlv3.Unmarshal(block, &b); err != nil {
			t.Fatalf("yaml.v3 on block output: %v", err)
		}
		if diff := cmp.Diff(b, a); diff != "" {
			t.Errorf("FlowWidth %d: yaml.v3 reads flow output differently from block output (-block +flow):\n%s", width, diff)
		}
		again, err := opts.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, again) {
			t.Errorf("FlowWidth %d: Marshal is not deterministic", width)
		}
		if width >= 60 && len(out) >= len(block) {
			t.Errorf("FlowWidth %d: output is %d bytes, block style %d; flow style should be smaller", width, len(out), len(block))
		}
	}
}

func TestWorkflowLayoutFlow(t *testing.T) {
	out, err := Options{FlowWidth: 80}.Marshal(realisticWorkflow(2))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"  labels: {kiln.dev/pipeline: train, kiln.dev/version: '1.10'}\n",
		"      - name: train-1\n" +
			"        template: train\n" +
			"        arguments: {parameters: [{name: lr, value: '{{inputs.parameters.lr}}'}]}\n" +
			"        depends: train-0.Succeeded\n",
		"        withItems: [a, 1, {k: 'on'}, [true, null]]\n",
		"      command: [/kiln, --component, train]\n",
		"    - {name: note, value: '', enum: ['', 'null', '~', '0x1F']}\n",
		"      source: |\n        import sys\n",
	} {
		if !strings.Contains(string(out), line) {
			t.Errorf("output lacks %q\nYAML:\n%s", line, out)
		}
	}
}

// TestFlowRandomTrees round-trips pseudo-random documents built from awkward
// strings at many widths, so that every nesting of flow inside block and
// block inside flow occurs. The seed is fixed, so failures reproduce.
func TestFlowRandomTrees(t *testing.T) {
	words := []string{
		"", "a", "x y", "a,b", "[", "]", "{", "}", "?", "a?", "a: b", "c:", "d:e", "a #b", "#",
		"yes", "No", "~", "null", "1", "-1", "0x1F", "1e3", ".5", "--flag", "-", "'", `"`,
		"\t", "multi\nline", "trail\n", "caf\u00e9", "\u2028", "{{tasks.a.outputs.parameters.b}}",
		"&a", "*a", "!t", "|", ">", "%", "@", "`", "<<", "=", "2001-12-14",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var gen func(depth int) any
	gen = func(depth int) any {
		switch k := rng.IntN(10); {
		case depth < 4 && k < 3:
			m := map[string]any{}
			for range rng.IntN(4) {
				m[words[rng.IntN(len(words))]] = gen(depth + 1)
			}
			return m
		case depth < 4 && k < 6:
			s := make([]any, rng.IntN(4))
			for i := range s {
				s[i] = gen(depth + 1)
			}
			return s
		case k == 6:
			return rng.IntN(2) == 0
		case k == 7:
			return nil
		case k == 8:
			return rng.Float64() * 1000
		default:
			return words[rng.IntN(len(words))]
		}
	}
	for i := range 1500 {
		v := map[string]any{"root": gen(0), "other": []any{gen(1)}}
		width := 1 + rng.IntN(100)
		opts := Options{FlowWidth: width}
		out, err := opts.Marshal(v)
		if err != nil {
			t.Fatalf("tree %d: %v", i, err)
		}
		in, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		checkRoundTrip(t, in, out)
		checkLowerBound(t, in)
		for line := range strings.Lines(string(out)) {
			// A flow collection starts after "key: " or "- " and must fit.
			if j := strings.IndexAny(line, "[{"); j > 0 && (line[j-1] == ' ') && strings.HasSuffix(strings.TrimRight(line, "\n"), string(closer(line[j]))) {
				if flow := strings.TrimRight(line[j:], "\n"); len(flow) > width && flow != "[]" && flow != "{}" {
					t.Errorf("tree %d: flow text %q is %d bytes, wider than %d", i, flow, len(flow), width)
				}
			}
		}
		if t.Failed() {
			t.Fatalf("tree %d with FlowWidth %d:\n%s", i, width, out)
		}
	}
}

func closer(open byte) byte {
	if open == '[' {
		return ']'
	}
	return '}'
}

// checkLowerBound checks that surelyWider never rejects a collection that
// fits: for every JSON collection in data that renders in flow style, the
// pre-check must accept the exact width of its rendering.
func checkLowerBound(t *testing.T, data []byte) {
	t.Helper()
	data = bytes.TrimSpace(data)
	if len(data) == 0 || (data[0] != '{' && data[0] != '[') {
		return
	}
	out, err := Options{FlowWidth: maxFlowWidth}.FromJSON(append(append([]byte(`{"k":`), data...), '}'))
	if err != nil {
		return
	}
	flow, ok := bytes.CutPrefix(out, []byte("k: "))
	if !ok || bytes.Count(flow, []byte("\n")) != 1 || (flow[0] != '{' && flow[0] != '[') {
		return // not written in flow style
	}
	width := len(flow) - 1
	if surelyWider(data, width) {
		t.Errorf("surelyWider(%q, %d) = true, but it renders as %q", data, width, flow)
	}
}
