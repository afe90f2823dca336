package local

import (
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
)

func TestRemapperMapText(t *testing.T) {
	tmpl := &wfv1.Template{
		Inputs: wfv1.Inputs{Artifacts: wfv1.Artifacts{{Name: "in", Path: "/tmp/message"}}},
		Outputs: wfv1.Outputs{
			Parameters: []wfv1.Parameter{{Name: "p", ValueFrom: &wfv1.ValueFrom{Path: "/tmp/kiln/outputs/p"}}},
			Artifacts:  wfv1.Artifacts{{Name: "dir", Path: "/tmp/kiln/artifacts/"}},
		},
	}
	rm := newRemapper("/r", tmpl)
	tests := []struct{ name, in, want string }{
		{"exact", "cat /tmp/message", "cat /r/tmp/message"},
		{"quoted", `cat "/tmp/message"`, `cat "/r/tmp/message"`},
		{"longer name untouched", "cat /tmp/messages", "cat /tmp/messages"},
		{"suffix path under a declared dir", "ls /tmp/kiln/artifacts/x.csv", "ls /r/tmp/kiln/artifacts/x.csv"},
		{"other prefix untouched", "cat /var/tmp/message", "cat /var/tmp/message"},
		{"flag value", "--out=/tmp/kiln/outputs/p", "--out=/r/tmp/kiln/outputs/p"},
		{"several", "cp /tmp/message /tmp/kiln/outputs/p", "cp /r/tmp/message /r/tmp/kiln/outputs/p"},
		{"undeclared", "echo hi > /tmp/other", "echo hi > /tmp/other"},
		{"extension", "cat /tmp/message.txt", "cat /r/tmp/message.txt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, rm.mapText(tc.in)); diff != "" {
				t.Errorf("mapText(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
	if got := rm.mapPath("/tmp/kiln/outputs/p"); got != "/r/tmp/kiln/outputs/p" {
		t.Errorf("mapPath = %q", got)
	}
	if got := rm.mapPath("rel/x"); got != "/r/rel/x" {
		t.Errorf("mapPath(relative) = %q", got)
	}
}

func FuzzRemapperMapText(f *testing.F) {
	f.Add("cat /tmp/message > /tmp/kiln/outputs/p")
	f.Add("/tmp/message/tmp/message")
	tmpl := &wfv1.Template{
		Inputs:  wfv1.Inputs{Artifacts: wfv1.Artifacts{{Name: "in", Path: "/tmp/message"}}},
		Outputs: wfv1.Outputs{Parameters: []wfv1.Parameter{{Name: "p", ValueFrom: &wfv1.ValueFrom{Path: "/tmp/kiln/outputs/p"}}}},
	}
	rm := newRemapper("/root/fs", tmpl)
	f.Fuzz(func(t *testing.T, s string) {
		out := rm.mapText(s)
		// Remapping is idempotent: a rewritten path is never rewritten again.
		if again := rm.mapText(out); again != out {
			t.Errorf("mapText not idempotent: %q -> %q -> %q", s, out, again)
		}
	})
}

func TestShouldExecute(t *testing.T) {
	tests := []struct {
		when string
		want bool
	}{
		{"", true},
		{"heads == heads", true},
		{"tails == heads", false},
		{"5 > 3", true},
		{"true == true && 1 != 2", true},
		{"'a' =~ 'b'", false},
	}
	for _, tc := range tests {
		got, err := shouldExecute(tc.when)
		if err != nil || got != tc.want {
			t.Errorf("shouldExecute(%q) = %v, %v; want %v", tc.when, got, err, tc.want)
		}
	}
	if _, err := shouldExecute("{{=1}}"); err == nil {
		t.Errorf("invalid expression accepted")
	}
}
