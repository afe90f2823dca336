package dockerfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheck(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"cmd/tool", "data"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		file      string
		wantImage string
		wantDests []string
		wantErrs  []string // substrings, one per problem
	}{
		{
			name: "multi-stage",
			file: "# docker build -f Dockerfile -t example.com/tool:v1 .\n" +
				"FROM golang AS build\nCOPY data /src/data\nRUN go build -o /out/tool \\\n  ./cmd/tool\n" +
				"FROM debian\nCOPY --from=build /out/tool /kiln/\nCOPY [\"data\", \"/kiln/data\"]\n",
			wantImage: "example.com/tool:v1",
			wantDests: []string{"/kiln/tool", "/kiln/data"},
		},
		{
			name: "every problem",
			file: "FROM debian\nCOPY missing /x\nRUN go build ./cmd/none && true\nCOPY onlyone\n",
			wantErrs: []string{
				"documents no `docker build -f Dockerfile -t NAME .` command",
				"Dockerfile:2: COPY source missing is not in the build context",
				"Dockerfile:3: go build of ./cmd/none, which is not a package directory",
				"Dockerfile:4: COPY needs a source and a destination",
			},
			wantDests: []string{"/x"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(root, "Dockerfile"), []byte(tc.file), 0o644); err != nil {
				t.Fatal(err)
			}
			img, err := Check(root, "Dockerfile")
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if len(got) != len(tc.wantErrs) {
				t.Fatalf("errors %q, want %d matching %q", got, len(tc.wantErrs), tc.wantErrs)
			}
			for i, want := range tc.wantErrs {
				if !strings.Contains(got[i], want) {
					t.Errorf("error %d = %q, want it to contain %q", i, got[i], want)
				}
			}
			if img.Name != tc.wantImage {
				t.Errorf("image %q, want %q", img.Name, tc.wantImage)
			}
			if d := cmp.Diff(tc.wantDests, img.Dests); d != "" {
				t.Errorf("final stage destinations (-want +got):\n%s", d)
			}
		})
	}
}
