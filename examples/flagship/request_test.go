package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPickRows(t *testing.T) {
	tests := []struct {
		name   string
		labels []string
		n      int
		want   []int
	}{
		{"alternates", []string{"a", "a", "b", "a", "b"}, 4, []int{0, 2, 1, 4}},
		{"one class runs out", []string{"a", "b", "a", "a"}, 4, []int{0, 1, 2, 3}},
		{"fewer rows than asked", []string{"a"}, 3, []int{0}},
		{"none", nil, 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, pickRows(tc.labels, tc.n)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
