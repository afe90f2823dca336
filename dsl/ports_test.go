package dsl

import (
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/internal/ir"
)

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"LR": "lr", "LearningRate": "learning_rate", "HTTPPort": "http_port", "X": "x",
		"NumTrees2": "num_trees2", "ModelURI": "model_uri", "already_snake": "already_snake",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

type goodPorts struct {
	Data     Value[Dataset] `description:"rows"`
	LR       Value[float64] `kiln:"lr" default:"0.1"`
	Layers   Value[[]int]   `default:"[1, 2]"`
	Note     Value[string]  `kiln:",optional"`
	Skipped  Value[int]     `kiln:"-"`
	internal int
}

func TestPortsOf(t *testing.T) {
	ports, err := portsOf(reflect.TypeFor[goodPorts]())
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		Name, Type, Description string
		Default                 *string
		Optional                bool
	}
	var got []view
	for _, p := range ports {
		got = append(got, view{p.Name, p.Type.String(), p.Description, p.Default, p.Optional})
	}
	str := func(s string) *string { return &s }
	want := []view{
		{"data", "Dataset", "rows", nil, false},
		{"lr", "float", "", str("0.1"), false},
		{"layers", "list<int>", "", str("[1,2]"), false},
		{"note", "string", "", nil, true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
}

func TestPortsOfErrors(t *testing.T) {
	tests := []struct {
		name string
		typ  reflect.Type
		want string
	}{
		{"not a struct", reflect.TypeFor[int](), "int is not a struct"},
		{"plain field", reflect.TypeFor[struct{ N int }](), "field .N has type int: fields of component inputs and outputs must be dsl.Value[T]"},
		{"bad name", reflect.TypeFor[struct {
			N Value[int] `kiln:"Bad-Name"`
		}](), `field .N: port name "Bad-Name" must match ^[a-z][a-z0-9_]*$`},
		{"duplicate", reflect.TypeFor[struct {
			A Value[int] `kiln:"x"`
			B Value[int] `kiln:"x"`
		}](), `fields A and B of  both have port name "x"`},
		{"bad default", reflect.TypeFor[struct {
			N Value[int] `default:"ten"`
		}](), `field .N: default: "ten" is not an integer`},
		{"artifact default", reflect.TypeFor[struct {
			D Value[Dataset] `default:"x"`
		}](), "field .D: artifacts cannot have a default"},
		{"channel", reflect.TypeFor[struct{ C Value[chan int] }](), "field .C: type chan int cannot be a parameter"},
		{"list of artifacts", reflect.TypeFor[struct{ L Value[[]Model] }](), "field .L: lists of artifacts are not supported ([]dsl.Model)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := portsOf(tc.typ)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestTypesAreChecked(t *testing.T) {
	ds, _ := typeOf(reflect.TypeFor[Dataset]())
	model, _ := typeOf(reflect.TypeFor[Model]())
	f, _ := typeOf(reflect.TypeFor[float64]())
	i, _ := typeOf(reflect.TypeFor[int]())
	spec, _ := ParseType("Dataset")
	anyArtifact, _ := ParseType("Artifact")
	for _, tc := range []struct {
		from, to ir.Type
		ok       bool
	}{
		{ds, ds, true}, {model, ds, false}, {f, i, false}, {ds, spec, true}, {model, anyArtifact, true}, {model, spec, false},
	} {
		if got := tc.from.AssignableTo(tc.to); got != tc.ok {
			t.Errorf("%s assignable to %s = %v, want %v", tc.from, tc.to, got, tc.ok)
		}
	}
}
