package paramcodec

import (
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type point struct {
	X int     `json:"x"`
	Y float64 `json:"y"`
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		v    any
		wire string
	}{
		{"string", "hello world", "hello world"},
		{"empty string", "", ""},
		{"int", 42, "42"},
		{"negative int64", int64(-7), "-7"},
		{"uint", uint(7), "7"},
		{"float", 0.1, "0.1"},
		{"float32", float32(0.25), "0.25"},
		{"large float", 1e21, "1e+21"},
		{"bool", true, "true"},
		{"list of ints", []int{1, 2, 3}, "[1,2,3]"},
		{"list of strings", []string{"a", "b"}, `["a","b"]`},
		{"map", map[string]float64{"a": 1.5}, `{"a":1.5}`},
		{"struct", point{X: 1, Y: 2.5}, `{"x":1,"y":2.5}`},
		{"nested", [][]int{{1}, {2, 3}}, "[[1],[2,3]]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wire, err := Encode(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if wire != tc.wire {
				t.Errorf("Encode = %q, want %q", wire, tc.wire)
			}
			back, err := Decode(wire, reflect.TypeOf(tc.v))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.v, back); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// Argo aggregates loop outputs as JSON lists whose items may be strings holding the values.
func TestDecodeAggregated(t *testing.T) {
	tests := []struct {
		name string
		wire string
		typ  reflect.Type
		want any
	}{
		{"floats as strings", `["0.5","1.5"]`, reflect.TypeFor[[]float64](), []float64{0.5, 1.5}},
		{"ints as strings", `["1","2"]`, reflect.TypeFor[[]int](), []int{1, 2}},
		{"bools as strings", `["true","false"]`, reflect.TypeFor[[]bool](), []bool{true, false}},
		{"strings as raw JSON", `[1,true]`, reflect.TypeFor[[]string](), []string{"1", "true"}},
		{"structs as strings", `["{\"x\":1,\"y\":2}"]`, reflect.TypeFor[[]point](), []point{{1, 2}}},
		{"integral float to int", "3.0", reflect.TypeFor[int](), 3},
		{"spaces around numbers", " 7 ", reflect.TypeFor[int](), 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.wire, tc.typ)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		wire string
		typ  reflect.Type
		want string
	}{
		{"not an int", "many", reflect.TypeFor[int](), `"many" is not an integer`},
		{"fractional int", "1.5", reflect.TypeFor[int](), `"1.5" is not an integer`},
		{"int overflow", "300", reflect.TypeFor[int8](), `"300" is not an integer`},
		{"not a bool", "yes", reflect.TypeFor[bool](), `"yes" is not a bool`},
		{"not a float", "x", reflect.TypeFor[float64](), `"x" is not a number`},
		{"not a list", "1,2", reflect.TypeFor[[]int](), `"1,2" is not a JSON list: invalid character ',' after top-level value`},
		{"bad item", `[1,"a"]`, reflect.TypeFor[[]int](), `item 1: "a" is not an integer`},
		{"bad map value", `{"a":"b"}`, reflect.TypeFor[map[string]int](), `key "a": "b" is not an integer`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.wire, tc.typ)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// FuzzDecode checks that decoding never panics and that what decodes re-encodes to a value that
// decodes to the same thing.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"1", "0.5", "true", "[1,2]", `{"a":1}`, `["1"]`, "", "x"} {
		f.Add(s)
	}
	types := []reflect.Type{reflect.TypeFor[int](), reflect.TypeFor[float64](), reflect.TypeFor[bool](),
		reflect.TypeFor[string](), reflect.TypeFor[[]float64](), reflect.TypeFor[map[string]int](), reflect.TypeFor[point]()}
	f.Fuzz(func(t *testing.T, s string) {
		for _, typ := range types {
			v, err := Decode(s, typ)
			if err != nil {
				continue
			}
			wire, err := Encode(v)
			if err != nil {
				t.Fatalf("encode %#v: %v", v, err)
			}
			again, err := Decode(wire, typ)
			if err != nil {
				t.Fatalf("decode %q (from %q): %v", wire, s, err)
			}
			if !reflect.DeepEqual(v, again) && !(typ.Kind() == reflect.Float64 && v != v) {
				t.Fatalf("%q → %#v → %q → %#v", s, v, wire, again)
			}
		}
	})
}
