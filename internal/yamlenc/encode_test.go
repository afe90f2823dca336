package yamlenc

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestFromJSONLayout(t *testing.T) {
	tests := []struct {
		name string
		json string
		want string
	}{
		{name: "null", json: `null`, want: "null\n"},
		{name: "number", json: ` -1.5e+3 `, want: "-1.5e+3\n"},
		{name: "bool", json: `true`, want: "true\n"},
		{name: "empty object", json: `{}`, want: "{}\n"},
		{name: "empty array", json: `[ ]`, want: "[]\n"},
		{name: "root string", json: `"hello"`, want: "hello\n"},
		{name: "root literal", json: `"a\nb"`, want: "|-\n  a\n  b\n"},
		{
			name: "key order kept",
			json: `{"kind":"Workflow","apiVersion":"v1","b":1,"a":2}`,
			want: "kind: Workflow\napiVersion: v1\nb: 1\na: 2\n",
		},
		{
			name: "nested mapping",
			json: `{"metadata":{"name":"x","labels":{"app":"kiln"}},"spec":{}}`,
			want: "metadata:\n  name: x\n  labels:\n    app: kiln\nspec: {}\n",
		},
		{
			name: "sequence of mappings at key indentation",
			json: `{"tasks":[{"name":"a","depends":"b && c"},{"name":"b","args":["x",[]]}]}`,
			want: "tasks:\n" +
				"- name: a\n" +
				"  depends: b && c\n" +
				"- name: b\n" +
				"  args:\n" +
				"  - x\n" +
				"  - []\n",
		},
		{
			name: "nested sequences",
			json: `[[1,[2,3]],[],{},[{"a":null}]]`,
			want: "- - 1\n" +
				"  - - 2\n" +
				"    - 3\n" +
				"- []\n" +
				"- {}\n" +
				"- - a: null\n",
		},
		{
			name: "mapping in mapping in sequence",
			json: `[{"a":{"b":{"c":[1]}},"d":"e"}]`,
			want: "- a:\n" +
				"    b:\n" +
				"      c:\n" +
				"      - 1\n" +
				"  d: e\n",
		},
		{
			name: "literal block values",
			json: `{"source":"import os\nprint(os.getcwd())\n","s":[" lead\nx","x\n\tindented\n\ny"]}`,
			want: "source: |\n" +
				"  import os\n" +
				"  print(os.getcwd())\n" +
				"s:\n" +
				"- \" lead\\nx\"\n" +
				"- |-\n" +
				"  x\n" +
				"  \tindented\n" +
				"\n" +
				"  y\n",
		},
		{
			name: "multi-line strings that need double quotes",
			json: `["a \nb","a\n\n","\n","a\r\nb","a\u2028b\nc"]`,
			want: "- \"a \\nb\"\n" +
				"- \"a\\n\\n\"\n" +
				"- \"\\n\"\n" +
				"- \"a\\r\\nb\"\n" +
				"- \"a\\u2028b\\nc\"\n",
		},
		{
			name: "unicode and escapes",
			json: `["h\u00e9llo \ud83d\ude00","tab\there","nul\u0000","bom\ufeff","nel\u0085","lone\ud800x","\u007f"]`,
			want: "- h\u00e9llo \U0001F600\n" +
				"- \"tab\\there\"\n" +
				"- \"nul\\x00\"\n" +
				"- \"bom\\uFEFF\"\n" +
				"- \"nel\\x85\"\n" +
				"- lone\ufffdx\n" +
				"- \"\\x7F\"\n",
		},
		{
			name: "single quotes double embedded quotes",
			json: `{"a":"it's: here"," k ":"'"}`,
			want: "a: 'it''s: here'\n' k ': ''''\n",
		},
		{
			name: "quoted keys",
			json: `{"true":1,"":2,"a: b":3,"-":4,"{x}":5,"1":6,"key\nline":7,"--flag":8}`,
			want: "'true': 1\n'': 2\n'a: b': 3\n'-': 4\n'{x}': 5\n'1': 6\n\"key\\nline\": 7\n--flag: 8\n",
		},
		{
			name: "long key uses explicit form",
			json: `{"` + strings.Repeat("k", 1001) + `":[1],"x":{"` + strings.Repeat("q", 1001) + `":{"a":1}}}`,
			want: "? " + strings.Repeat("k", 1001) + "\n" +
				":\n" +
				"  - 1\n" +
				"x:\n" +
				"  ? " + strings.Repeat("q", 1001) + "\n" +
				"  :\n" +
				"    a: 1\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromJSON([]byte(tt.json))
			if err != nil {
				t.Fatalf("FromJSON(%s): %v", tt.json, err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("FromJSON(%s) mismatch (-want +got):\n%s", tt.json, diff)
			}
			checkRoundTrip(t, []byte(tt.json), got)
		})
	}
}

func TestScalarQuoting(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		// Plain.
		{"hello", "hello"},
		{"hello world", "hello world"},
		{"http://example.com:8080/a#frag", "http://example.com:8080/a#frag"},
		{"--verbose", "--verbose"},
		{"-x", "-x"},
		{"a,b[0]{c}", "a,b[0]{c}"},
		{"1Gi", "1Gi"},
		{"500m", "500m"},
		{"v1.2", "v1.2"},
		{"trueish", "trueish"},
		{"nothing", "nothing"},
		{"a'b\"c", "a'b\"c"},
		{"tasks.a.outputs.result == 'x'", "tasks.a.outputs.result == 'x'"},
		{"caf\u00e9", "caf\u00e9"},
		{".hidden", ".hidden"},
		// YAML 1.1 and 1.2 booleans and nulls, any case.
		{"true", "'true'"},
		{"False", "'False'"},
		{"YES", "'YES'"},
		{"y", "'y'"},
		{"N", "'N'"},
		{"on", "'on'"},
		{"Off", "'Off'"},
		{"null", "'null'"},
		{"NULL", "'NULL'"},
		{"~", "'~'"},
		{"", "''"},
		{"<<", "'<<'"},
		{"=", "'='"},
		// Numbers in every YAML spelling.
		{"0", "'0'"},
		{"-12", "'-12'"},
		{"+12", "'+12'"},
		{"1.5", "'1.5'"},
		{".5", "'.5'"},
		{"1e3", "'1e3'"},
		{"1E-3", "'1E-3'"},
		{"0x1f", "'0x1f'"},
		{"0o17", "'0o17'"},
		{"017", "'017'"},
		{"0b101", "'0b101'"},
		{"1_000", "'1_000'"},
		{"190:20:30", "'190:20:30'"},
		{".inf", "'.inf'"},
		{"-.Inf", "'-.Inf'"},
		{".NaN", "'.NaN'"},
		{"1.2.3", "'1.2.3'"},
		// Timestamps.
		{"2001-12-14", "'2001-12-14'"},
		{"2001-12-14t21:59:43.10-05:00", "'2001-12-14t21:59:43.10-05:00'"},
		{"2001-12-14 21:59:43.10 -5", "'2001-12-14 21:59:43.10 -5'"},
		// Indicators and comments.
		{"{{inputs.parameters.x}}", "'{{inputs.parameters.x}}'"},
		{"[a]", "'[a]'"},
		{"- a", "'- a'"},
		{"-", "'-'"},
		{"---", "'---'"},
		{"...", "'...'"},
		{"? a", "'? a'"},
		{":a", "':a'"},
		{"a:", "'a:'"},
		{"a: b", "'a: b'"},
		{"a #b", "'a #b'"},
		{"#a", "'#a'"},
		{"&a", "'&a'"},
		{"*a", "'*a'"},
		{"!a", "'!a'"},
		{"|a", "'|a'"},
		{">a", "'>a'"},
		{"'a", "'''a'"},
		{"\"a", "'\"a'"},
		{"%a", "'%a'"},
		{"@a", "'@a'"},
		{"`a", "'`a'"},
		{",a", "',a'"},
		// Blanks.
		{" a", "' a'"},
		{"a ", "'a '"},
		{"a\tb", `"a\tb"`},
		// Non-printables.
		{"\x1b[0m", `"\x1B[0m"`},
		{"a\u00a0b", "a\u00a0b"},
		{"\u2029", `"\u2029"`},
		{"\U000E0001", "\U000E0001"},
		{"\U0010FFFF", "\U0010FFFF"},
		{"\uFFFE", `"\uFFFE"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want+"\n", string(got)); diff != "" {
				t.Errorf("Marshal(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			checkValue(t, tt.in)
			checkValue(t, map[string]string{tt.in: tt.in})
		})
	}
}

func TestMarshalKubernetesTypes(t *testing.T) {
	type container struct {
		Name     string                       `json:"name"`
		Limits   map[string]resource.Quantity `json:"limits,omitempty"`
		Port     intstr.IntOrString           `json:"port"`
		Optional *bool                        `json:"optional,omitempty"`
		Args     []string                     `json:"args"`
		Empty    []string                     `json:"empty"`
	}
	v := container{
		Name:   "main",
		Limits: map[string]resource.Quantity{"memory": resource.MustParse("1Gi"), "cpu": resource.MustParse("0.5")},
		Port:   intstr.FromString("8080"),
		Args:   []string{"--lr", "0.01", "<model>"},
	}
	got, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := "name: main\n" +
		"limits:\n" +
		"  cpu: 500m\n" +
		"  memory: 1Gi\n" +
		"port: '8080'\n" +
		"args:\n" +
		"- --lr\n" +
		"- '0.01'\n" +
		"- <model>\n" +
		"empty: null\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("Marshal mismatch (-want +got):\n%s", diff)
	}

	var buf bytes.Buffer
	if err := Encode(&buf, v); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("Encode mismatch (-want +got):\n%s", diff)
	}
}

func TestMarshalError(t *testing.T) {
	if _, err := Marshal(map[string]any{"f": func() {}}); err == nil {
		t.Fatal("Marshal(func) succeeded, want error")
	}
}

func TestFromJSONErrors(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		wantDup bool
	}{
		{name: "empty", json: ``},
		{name: "only space", json: ` `},
		{name: "trailing data", json: `{} {}`},
		{name: "unterminated object", json: `{"a":1`},
		{name: "missing colon", json: `{"a" 1}`},
		{name: "trailing comma", json: `[1,]`},
		{name: "bad literal", json: `tru`},
		{name: "leading zero", json: `01`},
		{name: "bare dot", json: `1.`},
		{name: "bad exponent", json: `1e`},
		{name: "plus sign", json: `+1`},
		{name: "control char in string", json: "\"a\x01\""},
		{name: "bad escape", json: `"\q"`},
		{name: "short unicode escape", json: `"\u12"`},
		{name: "unterminated string", json: `"abc`},
		{name: "non-string key", json: `{1:2}`},
		{name: "too deep", json: strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)},
		{name: "duplicate key", json: `{"a":1,"b":2,"a":3}`, wantDup: true},
		{name: "duplicate key sorted prefix", json: `{"a":1,"b":2,"c":3,"b":4}`, wantDup: true},
		{name: "duplicate key via escape", json: `{"a":1,"\u0061":2}`, wantDup: true},
		{name: "duplicate in large object", json: manyKeys(100) + `"k0050":1}`, wantDup: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendFromJSON([]byte("keep"), []byte(tt.json))
			if err == nil {
				t.Fatalf("FromJSON(%.40q) succeeded, want error", tt.json)
			}
			if string(got) != "keep" {
				t.Errorf("AppendFromJSON returned %q on error, want dst unchanged", got)
			}
			var syn *SyntaxError
			if gotDup := errors.Is(err, ErrDuplicateKey); gotDup != tt.wantDup {
				t.Errorf("errors.Is(%v, ErrDuplicateKey) = %v, want %v", err, gotDup, tt.wantDup)
			}
			if !tt.wantDup && !errors.As(err, &syn) {
				t.Errorf("error %v is not a *SyntaxError", err)
			}
		})
	}
}

func TestFromJSONManyKeysNoDuplicate(t *testing.T) {
	// Unsorted keys beyond the linear-scan limit exercise the map fallback.
	in := manyKeys(100) + `"a":1}`
	out, err := FromJSON([]byte(in))
	if err != nil {
		t.Fatalf("FromJSON: %v", err)
	}
	checkRoundTrip(t, []byte(in), out)
}

// manyKeys returns an unterminated object with n unsorted keys k0000..k(n-1)
// and a trailing comma.
func manyKeys(n int) string {
	var b strings.Builder
	b.WriteString(`{"zz":0,`)
	for i := range n {
		fmt.Fprintf(&b, `"k%04d":1,`, i)
	}
	return b.String()
}

func TestFromJSONMaxDepth(t *testing.T) {
	// encoding/json accepts exactly maxDepth levels; so must FromJSON.
	in := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	out, err := FromJSON([]byte(in))
	if err != nil {
		t.Fatalf("FromJSON(%d nested arrays): %v", maxDepth, err)
	}
	want := strings.Repeat("- ", maxDepth-1) + "[]\n"
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}
