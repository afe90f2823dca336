package componentspec

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ptr(s string) *string { return &s }

const trainYAML = `
apiVersion: kiln.dev/v1
kind: Component
name: train-sklearn
description: Trains a model.
inputs:
  - {name: data, type: Dataset, description: training data}
  - {name: lr, type: float, default: "0.1"}
  - {name: epochs, type: int, default: 3}
  - {name: tags, type: list<string>, optional: true}
outputs:
  - {name: model, type: Model}
  - {name: accuracy, type: float}
implementation:
  container:
    image: python:3.12-slim
    command: [python3, /app/train.py]
    args: [--data, "{{inputs.data.path}}", --lr, "{{inputs.lr}}", --model, "{{outputs.model.path}}"]
    workingDir: /app
`

func TestParseValid(t *testing.T) {
	header := "apiVersion: kiln.dev/v1\nkind: Component\nname: c\n"
	container := "implementation:\n  container:\n    image: busybox\n    command: [echo]\n"
	tests := []struct {
		name string
		yaml string
		want *Spec
	}{
		{
			name: "full",
			yaml: trainYAML,
			want: &Spec{
				APIVersion: "kiln.dev/v1", Kind: "Component", Name: "train-sklearn", Description: "Trains a model.",
				Inputs: []Input{
					{Name: "data", Type: "Dataset", Description: "training data"},
					{Name: "lr", Type: "float", Default: ptr("0.1")},
					{Name: "epochs", Type: "int", Default: ptr("3")},
					{Name: "tags", Type: "list<string>", Optional: true},
				},
				Outputs: []Output{{Name: "model", Type: "Model"}, {Name: "accuracy", Type: "float"}},
				Implementation: Implementation{Container: &Container{
					Image:      "python:3.12-slim",
					Command:    []string{"python3", "/app/train.py"},
					Args:       []string{"--data", "{{inputs.data.path}}", "--lr", "{{inputs.lr}}", "--model", "{{outputs.model.path}}"},
					WorkingDir: "/app",
				}},
				Source: "test.yaml",
			},
		},
		{
			name: "defaults of every type are encoded canonically",
			yaml: header + `inputs:
  - {name: s, type: string, default: 0.10}
  - {name: s2, type: string, default: "it's"}
  - {name: i, type: int, default: "3.0"}
  - {name: f, type: float, default: 1e3}
  - {name: b, type: bool, default: True}
  - {name: l, type: list<int>, default: [1, 2, 3]}
  - {name: l2, type: list, default: '[ "a", 1 ]'}
  - {name: m, type: "map<string,float>", default: {b: 1.5, a: 2}}
  - {name: st, type: struct, default: {x: [1, {y: true}]}}
  - {name: n, type: list<list<int>>, default: [[1], []]}
  - {name: h, type: string, default: "<a&b>"}
  - {name: hj, type: "map<string,string>", default: {k: "<a&b>"}}
` + container,
			want: &Spec{
				APIVersion: "kiln.dev/v1", Kind: "Component", Name: "c",
				Inputs: []Input{
					{Name: "s", Type: "string", Default: ptr("0.10")},
					{Name: "s2", Type: "string", Default: ptr("it's")},
					{Name: "i", Type: "int", Default: ptr("3")},
					{Name: "f", Type: "float", Default: ptr("1000")},
					{Name: "b", Type: "bool", Default: ptr("true")},
					{Name: "l", Type: "list<int>", Default: ptr("[1,2,3]")},
					{Name: "l2", Type: "list", Default: ptr(`["a",1]`)},
					{Name: "m", Type: "map<string,float>", Default: ptr(`{"a":2,"b":1.5}`)},
					{Name: "st", Type: "struct", Default: ptr(`{"x":[1,{"y":true}]}`)},
					{Name: "n", Type: "list<list<int>>", Default: ptr(`[[1],[]]`)},
					{Name: "h", Type: "string", Default: ptr("<a&b>")},
					{Name: "hj", Type: "map<string,string>", Default: ptr(`{"k":"<a&b>"}`)},
				},
				Implementation: Implementation{Container: &Container{Image: "busybox", Command: []string{"echo"}}},
				Source:         "test.yaml",
			},
		},
		{
			name: "KFP structured placeholders, env, Argo variables and type aliases",
			yaml: header + `inputs:
  - {name: data, type: Dataset}
  - {name: n, type: Integer}
outputs:
  - {name: out, type: String}
implementation:
  container:
    image: busybox
    command: [sh, -c]
    args:
      - cat "$0" > "$2"; echo $1 {{workflow.name}}
      - {inputPath: data}
      - {inputValue: n}
      - {outputPath: out}
      - 7
    env: {B: "2", A: one}
`,
			want: &Spec{
				APIVersion: "kiln.dev/v1", Kind: "Component", Name: "c",
				Inputs:  []Input{{Name: "data", Type: "Dataset"}, {Name: "n", Type: "Integer"}},
				Outputs: []Output{{Name: "out", Type: "String"}},
				Implementation: Implementation{Container: &Container{
					Image:   "busybox",
					Command: []string{"sh", "-c"},
					Args:    []string{`cat "$0" > "$2"; echo $1 {{workflow.name}}`, "{{inputs.data.path}}", "{{inputs.n}}", "{{outputs.out.path}}", "7"},
					Env:     map[string]string{"A": "one", "B": "2"},
				}},
				Source: "test.yaml",
			},
		},
		{
			name: "args only, anchors, document markers",
			yaml: "---\n" + header + "inputs:\n  - {name: x, type: int, default: &d 5}\n  - {name: y, type: int, default: *d}\nimplementation:\n  container:\n    image: busybox\n    args: [echo, \"{{ inputs.x }}\"]\n---\n",
			want: &Spec{
				APIVersion: "kiln.dev/v1", Kind: "Component", Name: "c",
				Inputs:         []Input{{Name: "x", Type: "int", Default: ptr("5")}, {Name: "y", Type: "int", Default: ptr("5")}},
				Implementation: Implementation{Container: &Container{Image: "busybox", Args: []string{"echo", "{{ inputs.x }}"}}},
				Source:         "test.yaml",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.yaml), "test.yaml")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
			if _, err := got.Component(); err != nil {
				t.Errorf("Component: %v", err)
			}
		})
	}
}

// fieldErrors returns the field errors of a Parse failure as strings.
func fieldErrors(t *testing.T, err error) []string {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *componentspec.Error", err, err)
	}
	var out []string
	for _, x := range e.Errs {
		out = append(out, x.Error())
	}
	return out
}

func TestParseInvalid(t *testing.T) {
	header := "apiVersion: kiln.dev/v1\nkind: Component\nname: c\n"
	container := "implementation:\n  container:\n    image: busybox\n    command: [echo]\n"
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "empty mapping",
			yaml: "{}",
			want: []string{
				"apiVersion: Required value: must be kiln.dev/v1",
				"kind: Required value: must be Component",
				"name: Required value: the component's name, a DNS-1123 label",
				"implementation.container: Required value: the container that runs the component",
			},
		},
		{
			name: "header values",
			yaml: "apiVersion: v1\nkind: Pod\nname: Train_Model\n" + container,
			want: []string{
				`apiVersion: Unsupported value: "v1": supported values: "kiln.dev/v1"`,
				`kind: Unsupported value: "Pod": supported values: "Component"`,
				`name: Invalid value: "Train_Model": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
			},
		},
		{
			name: "port names and types",
			yaml: header + `inputs:
  - {name: data, type: Dataset}
  - {name: lr, type: flot}
  - {name: "", type: int}
  - {name: Bad-Name, type: int}
  - {name: data, type: int}
  - {name: x}
  - {name: y, type: "list<Model>"}
  - {name: z, type: "map<int,string>"}
outputs:
  - {name: lr, type: float}
  - {name: m, type: Modle}
` + container,
			want: []string{
				`inputs[1].type: Unsupported value: "flot": supported values: "string", "int", "float", "bool", "list", "list<T>", "map", "map<string,T>", "struct", "Dataset", "Model", "Metrics", "Artifact"`,
				`inputs[2].name: Required value`,
				`inputs[3].name: Invalid value: "Bad-Name": must match ^[a-z][a-z0-9_]*$ (lower case letters, digits and _)`,
				`inputs[4].name: Duplicate value: "data"`,
				`inputs[5].type: Required value: one of string, int, float, bool, list, list<T>, map, map<string,T>, struct, Dataset, Model, Metrics, Artifact`,
				`inputs[6].type: Invalid value: "list<Model>": want list<T> or map<string,T> where T is a parameter type (string, int, float, bool, list, map, struct or a list or map of them)`,
				`inputs[7].type: Invalid value: "map<int,string>": want list<T> or map<string,T> where T is a parameter type (string, int, float, bool, list, map, struct or a list or map of them)`,
				`outputs[0].name: Duplicate value: "lr"`,
				`outputs[1].type: Unsupported value: "Modle": supported values: "string", "int", "float", "bool", "list", "list<T>", "map", "map<string,T>", "struct", "Dataset", "Model", "Metrics", "Artifact"`,
			},
		},
		{
			name: "defaults",
			yaml: header + `inputs:
  - {name: a, type: int, default: 1.5}
  - {name: b, type: float, default: fast}
  - {name: c, type: bool, default: "yes"}
  - {name: d, type: list<int>, default: [1, "2"]}
  - {name: e, type: "map<string,int>", default: {k: x}}
  - {name: f, type: list, default: "[1,"}
  - {name: g, type: Dataset, default: x.csv}
  - {name: h, type: string, default: [a, b]}
  - {name: i, type: int, default: null}
  - {name: j, type: map, default: "[1]"}
  - {name: k, type: float, default: .inf}
  - {name: l, type: int, default: {x: 1}}
  - {name: m, type: list, default: "[1] [2]"}
` + container,
			want: []string{
				`inputs[0].default: Invalid value: "1.5": must be an integer`,
				`inputs[1].default: Invalid value: "fast": must be a finite number`,
				`inputs[2].default: Invalid value: "yes": must be true or false`,
				`inputs[3].default: Invalid value: "[1,\"2\"]": item 1: must be an integer`,
				`inputs[4].default: Invalid value: "{\"k\":\"x\"}": key "k": must be an integer`,
				`inputs[5].default: Invalid value: "[1,": must be JSON for a list: unexpected EOF`,
				`inputs[6].default: Forbidden: artifact inputs cannot have a default`,
				`inputs[7].default: Invalid value: "[\"a\",\"b\"]": a YAML sequence cannot be the default of a string input`,
				`inputs[8].default: Invalid value: "null": must not be null: leave default out for an input without one`,
				`inputs[9].default: Invalid value: "[1]": must be a JSON object`,
				`inputs[10].default: Invalid value: ".inf": must be a finite number`,
				`inputs[11].default: Invalid value: "{\"x\":1}": a YAML mapping cannot be the default of a int input`,
				`inputs[12].default: Invalid value: "[1] [2]": must be one JSON value for a list: text follows it`,
			},
		},
		{
			name: "container",
			yaml: header + `implementation:
  container:
    image: "busy box"
    env: {"1BAD": x, GOOD: y, "A=B": z, P: "{{inputs.x}}"}
    workingDir: /work/{{ outputs.y.path }}
`,
			want: []string{
				`implementation.container.image: Invalid value: "busy box": must not contain white space`,
				`implementation.container.command: Required value: command or args must be given`,
				`implementation.container.workingDir: Invalid value: "/work/{{ outputs.y.path }}": placeholders are only replaced in command and args`,
				`implementation.container.env[1BAD]: Invalid value: "1BAD": a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')`,
				`implementation.container.env[A=B]: Invalid value: "A=B": a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')`,
				`implementation.container.env[P]: Invalid value: "{{inputs.x}}": placeholders are only replaced in command and args`,
			},
		},
		{
			name: "no image",
			yaml: header + "implementation:\n  container:\n    command: [x]\n",
			want: []string{`implementation.container.image: Required value`},
		},
		{
			name: "placeholders",
			yaml: header + `inputs:
  - {name: data, type: Dataset}
  - {name: lr, type: float}
  - {name: broken, type: nope}
outputs:
  - {name: model, type: Model}
  - {name: acc, type: float}
implementation:
  container:
    image: busybox
    command: ["{{inputs.dat.path}}", "{{inputs.data}}", "x={{inputs.lr.path}}"]
    args:
      - "{{outputs.model}}"
      - "{{outputs.nope.path}}"
      - "{{inputs.model}}"
      - "{{outputs.lr.path}}"
      - "{{inputs.parameters.lr}}"
      - "{{inputs.Data.path}}"
      - "{{outputs.acc.path}} {{inputs.lr"
      - "{{inputs.broken}}"
      - {inputValue: Bad}
      - {concat: [a, b]}
      - [a]
      - null
`,
			want: []string{
				`inputs[2].type: Unsupported value: "nope": supported values: "string", "int", "float", "bool", "list", "list<T>", "map", "map<string,T>", "struct", "Dataset", "Model", "Metrics", "Artifact"`,
				`implementation.container.command[0]: Invalid value: "{{inputs.dat.path}}": no input named "dat"`,
				`implementation.container.command[1]: Invalid value: "{{inputs.data}}": input "data" is an artifact: use {{inputs.data.path}}`,
				`implementation.container.command[2]: Invalid value: "{{inputs.lr.path}}": input "lr" is a parameter: use {{inputs.lr}}`,
				`implementation.container.args[0]: Invalid value: "{{outputs.model}}": outputs are only available as paths: use {{outputs.model.path}}`,
				`implementation.container.args[1]: Invalid value: "{{outputs.nope.path}}": no output named "nope"`,
				`implementation.container.args[2]: Invalid value: "{{inputs.model}}": no input named "model"`,
				`implementation.container.args[3]: Invalid value: "{{outputs.lr.path}}": no output named "lr"`,
				`implementation.container.args[4]: Invalid value: "{{inputs.parameters.lr}}": malformed placeholder: want {{inputs.NAME}}, {{inputs.NAME.path}} or {{outputs.NAME.path}}`,
				`implementation.container.args[5]: Invalid value: "{{inputs.Data.path}}": malformed placeholder: want {{inputs.NAME}}, {{inputs.NAME.path}} or {{outputs.NAME.path}}`,
				`implementation.container.args[6]: Invalid value: "{{inputs.lr": placeholder is not closed with }}`,
				`implementation.container.args[8].inputValue: Invalid value: "Bad": must be a port name matching ^[a-z][a-z0-9_]*$`,
				`implementation.container.args[9].concat: Unsupported value: "concat": supported values: "inputValue", "inputPath", "outputPath"`,
				`implementation.container.args[10]: Invalid value: "a sequence": must be a string or a placeholder {inputValue: NAME}, {inputPath: NAME} or {outputPath: NAME}`,
				`implementation.container.args[11]: Invalid value: "null": must not be null`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "test.yaml")
			if err == nil {
				t.Fatal("Parse succeeded, want errors")
			}
			if diff := cmp.Diff(tt.want, fieldErrors(t, err)); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseYAMLErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"empty", "", `parse component spec "s.yaml": the file is empty`},
		{"unknown top-level field", "apiVersion: kiln.dev/v1\nnmae: x\n", "parse component spec \"s.yaml\": yaml: unmarshal errors:\n  line 2: field nmae not found in type component spec"},
		{"unknown input field", "inputs:\n  - {name: a, type: int, defualt: 1}\n", "parse component spec \"s.yaml\": yaml: unmarshal errors:\n  line 2: field defualt not found in type input"},
		{"output default", "outputs:\n  - {name: a, type: int, default: 1}\n", "parse component spec \"s.yaml\": yaml: unmarshal errors:\n  line 2: field default not found in type output"},
		{"unknown container field", "implementation:\n  container:\n    image: x\n    imagePullPolicy: Always\n", "parse component spec \"s.yaml\": yaml: unmarshal errors:\n  line 4: field imagePullPolicy not found in type container"},
		{"graph implementation", "implementation:\n  graph: {}\n", "parse component spec \"s.yaml\": yaml: unmarshal errors:\n  line 2: field graph not found in type implementation"},
		{"inputs not a list", "inputs: x\n", "parse component spec \"s.yaml\": yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `x` into list of inputs"},
		{"duplicate key", "name: a\nname: b\n", `parse component spec "s.yaml": yaml: unmarshal errors:` + "\n" + `  line 2: mapping key "name" already defined at line 1`},
		{"two documents", "name: a\n---\nname: b\n", `parse component spec "s.yaml": more than one YAML document`},
		{"two documents after an empty one", "name: a\n---\n---\nname: b\n", `parse component spec "s.yaml": more than one YAML document`},
		{"not a mapping", "- a\n", "parse component spec \"s.yaml\": yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into component spec"},
		{"bad syntax", "name: [\n", `parse component spec "s.yaml": yaml: line 1: did not find expected node content`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "s.yaml")
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := Parse([]byte("apiVersion: kiln.dev/v1\nkind: Component\nname: c\ninputs: [{name: a, type: flot}]\n"+
		"implementation: {container: {image: x, args: [a]}}\n"), "comp.yaml")
	want := `component spec "comp.yaml": inputs[0].type: Unsupported value: "flot": supported values: "string", "int", "float", "bool", "list", "list<T>", "map", "map<string,T>", "struct", "Dataset", "Model", "Metrics", "Artifact"`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
	_, err = Parse([]byte("{}"), "")
	if err == nil || !strings.HasPrefix(err.Error(), "component spec (unnamed): 4 problems:\n  apiVersion: Required value") {
		t.Errorf("error = %v", err)
	}
}
