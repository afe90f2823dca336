package local

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTailOf(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{name: "fewer lines than asked", in: "a\nb\n", n: 5, want: "a\nb\n"},
		{name: "last two", in: "a\nb\nc\n", n: 2, want: "b\nc\n"},
		{name: "no final newline", in: "a\nb\nc", n: 1, want: "c"},
		{name: "empty", in: "", n: 3, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, string(tailOf([]byte(tt.in), tt.n))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
