package componentspec

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// specYAML returns a small valid spec named name.
func specYAML(name string) string {
	return fmt.Sprintf(`apiVersion: kiln.dev/v1
kind: Component
name: %s
inputs:
  - {name: msg, type: string, default: hello}
outputs:
  - {name: out, type: string}
implementation:
  container:
    image: busybox:1.36
    command: [sh, -c, 'echo "$0" > "$1"', "{{inputs.msg}}", "{{outputs.out.path}}"]
`, name)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// loadName loads src and returns the spec's name and source, or the error text.
func loadName(t *testing.T, src string, opts ...LoadOption) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Load(ctx, src, opts...)
	if err != nil {
		return "", err
	}
	if s.Source == "" {
		t.Errorf("Load(%q): Source is empty", src)
	}
	return s.Name, nil
}

func TestLoadLocal(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "comp.yaml"), specYAML("local-comp"))
	writeFile(t, filepath.Join(dir, "sub", "nested.yaml"), specYAML("nested-comp"))
	writeFile(t, filepath.Join(dir, "big.yaml"), specYAML("big")+"# "+strings.Repeat("x", 2000)+"\n")
	writeFile(t, filepath.Join(dir, "bad.yaml"), "apiVersion: kiln.dev/v1\nkind: Component\nname: Bad\n")

	tests := []struct {
		name    string
		src     string
		opts    []LoadOption
		want    string
		wantErr string
	}{
		{name: "absolute path", src: filepath.Join(dir, "comp.yaml"), want: "local-comp"},
		{name: "relative path", src: "./sub/nested.yaml", opts: []LoadOption{WithWorkingDir(dir)}, want: "nested-comp"},
		{name: "file URL", src: "file://" + filepath.Join(dir, "comp.yaml"), want: "local-comp"},
		{name: "file URL with subpath", src: "file://" + dir + "//sub/nested.yaml", want: "nested-comp"},
		{name: "forced file getter", src: "file::" + filepath.Join(dir, "comp.yaml"), want: "local-comp"},
		{
			name:    "missing file",
			src:     filepath.Join(dir, "nope.yaml"),
			wantErr: fmt.Sprintf("load component spec %q: source path error: stat %s: no such file or directory", filepath.Join(dir, "nope.yaml"), filepath.Join(dir, "nope.yaml")),
		},
		{
			name:    "missing file in subpath",
			src:     "file://" + dir + "//sub/nope.yaml",
			wantErr: fmt.Sprintf("load component spec %q: sub/nope.yaml: no such file in the source", "file://"+dir+"//sub/nope.yaml"),
		},
		{
			name:    "subpath is a directory",
			src:     "file://" + dir + "//sub",
			wantErr: fmt.Sprintf("load component spec %q: sub is a directory, not a spec file", "file://"+dir+"//sub"),
		},
		{
			name:    "subpath leaves the source",
			src:     "file://" + dir + "/sub//../comp.yaml",
			wantErr: fmt.Sprintf("load component spec %q: subpath \"../comp.yaml\": must name a file inside the source, without ..", "file://"+dir+"/sub//../comp.yaml"),
		},
		{
			name:    "too large",
			src:     filepath.Join(dir, "big.yaml"),
			opts:    []LoadOption{WithMaxSize(1000)},
			wantErr: fmt.Sprintf("load component spec %q: spec file is larger than 1000 bytes", filepath.Join(dir, "big.yaml")),
		},
		{
			name:    "invalid spec names the source",
			src:     filepath.Join(dir, "bad.yaml"),
			wantErr: fmt.Sprintf("component spec %q: 2 problems:", filepath.Join(dir, "bad.yaml")),
		},
		{name: "empty source", src: " ", wantErr: "load component spec: source is empty"},
		{
			name:    "unsupported scheme",
			src:     "ftp://example.com/comp.yaml",
			wantErr: `load component spec "ftp://example.com/comp.yaml": download not supported for scheme 'ftp'`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadName(t, tt.src, tt.opts...)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("Load(%q) error = %v\nwant prefix %s", tt.src, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load(%q): %v", tt.src, err)
			}
			if got != tt.want {
				t.Errorf("Load(%q) name = %q, want %q", tt.src, got, tt.want)
			}
		})
	}
}

func TestLoadHTTP(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /comp.yaml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, specYAML("http-comp"))
	})
	mux.HandleFunc("GET /big.yaml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, specYAML("big")+"# "+strings.Repeat("x", 5000)+"\n")
	})
	mux.HandleFunc("GET /big-chunked.yaml", func(w http.ResponseWriter, r *http.Request) {
		for range 10 {
			fmt.Fprint(w, "# "+strings.Repeat("x", 500)+"\n")
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("GET /components.tar.gz", func(w http.ResponseWriter, r *http.Request) {
		// Random bytes make the archive larger than the size limit, which applies to the spec
		// file, not to the archive it comes in.
		noise := make([]byte, 8000)
		rand.NewChaCha8([32]byte{1}).Read(noise)
		if _, err := w.Write(tarGz(t, map[string]string{"ml/comp.yaml": specYAML("archived-comp"), "blob": string(noise)})); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("GET /slow.yaml", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		name    string
		path    string
		want    string
		wantErr string
	}{
		{name: "ok", path: "/comp.yaml", want: "http-comp"},
		{name: "not found", path: "/nope.yaml", wantErr: "bad response code: 404"},
		{name: "file in an archive", path: "/components.tar.gz//ml/comp.yaml", want: "archived-comp"},
		{name: "missing file in an archive", path: "/components.tar.gz//comp.yaml", wantErr: "comp.yaml: no such file in the source"},
		{name: "too large with content length", path: "/big.yaml", wantErr: "spec file is larger than 2000 bytes"},
		{name: "too large chunked", path: "/big-chunked.yaml", wantErr: "spec file is larger than 2000 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := srv.URL + tt.path
			got, err := loadName(t, src, WithMaxSize(2000))
			if tt.wantErr != "" {
				want := fmt.Sprintf("load component spec %q: %s", src, tt.wantErr)
				if err == nil || err.Error() != want {
					t.Fatalf("Load error = %v\nwant %s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("name = %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := Load(ctx, srv.URL+"/slow.yaml")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Load error = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Load returned after %s, want soon after the deadline", d)
		}
		if !strings.Contains(err.Error(), srv.URL+"/slow.yaml") {
			t.Errorf("error %q does not name the source", err)
		}
	})
}

// tarGz returns a gzipped tar archive of files.
func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		body := files[name]
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// requireGit skips the test when git is missing, except in CI where it must be installed.
func requireGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("git is required in CI: %v", err)
		}
		t.Skip("git not found: install it (apt-get install git) to run the git source tests")
	}
}

func gitRun(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=kiln", "-c", "user.email=kiln@example.com", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestLoadGit(t *testing.T) {
	requireGit(t)
	repo := filepath.Join(t.TempDir(), "components")
	writeFile(t, filepath.Join(repo, "comp.yaml"), specYAML("git-comp-v1"))
	writeFile(t, filepath.Join(repo, "ml", "train.yaml"), specYAML("git-train"))
	if err := os.Symlink("/etc/hostname", filepath.Join(repo, "escape.yaml")); err != nil {
		t.Fatal(err)
	}
	gitRun(t, repo, "init", "-q")
	gitRun(t, repo, "add", ".")
	gitRun(t, repo, "commit", "-q", "-m", "v1")
	gitRun(t, repo, "tag", "v1")
	writeFile(t, filepath.Join(repo, "comp.yaml"), specYAML("git-comp-v2"))
	gitRun(t, repo, "commit", "-q", "-am", "v2")

	base := "git::file://" + repo
	tests := []struct {
		name    string
		src     string
		want    string
		wantErr string
	}{
		{name: "tag", src: base + "//comp.yaml?ref=v1", want: "git-comp-v1"},
		{name: "default branch", src: base + "//comp.yaml", want: "git-comp-v2"},
		{name: "branch", src: base + "//comp.yaml?ref=main", want: "git-comp-v2"},
		{name: "nested path", src: base + "//ml/train.yaml?ref=v1", want: "git-train"},
		{name: "missing file", src: base + "//nope.yaml?ref=v1", wantErr: "nope.yaml: no such file in the source"},
		{name: "symlink out of the repository", src: base + "//escape.yaml?ref=v1", wantErr: "openat escape.yaml: path escapes from parent"},
		{name: "missing ref", src: base + "//comp.yaml?ref=v9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadName(t, tt.src)
			if tt.want == "" {
				prefix := fmt.Sprintf("load component spec %q: ", tt.src)
				if err == nil || !strings.HasPrefix(err.Error(), prefix+tt.wantErr) {
					t.Fatalf("Load error = %v\nwant prefix %s", err, prefix+tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("name mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"./comp.yaml", "./comp.yaml"},
		{"https://example.com/c.yaml", "https://example.com/c.yaml"},
		{"https://user:pw@example.com/c.yaml", "https://user:redacted@example.com/c.yaml"},
		{"s3::https://s3.amazonaws.com/b/c.yaml?aws_access_key_id=AK&aws_access_key_secret=SK&region=eu", "s3::https://s3.amazonaws.com/b/c.yaml?aws_access_key_id=redacted&aws_access_key_secret=redacted&region=eu"},
		{"git::ssh://git@example.com/r.git//c.yaml?sshkey=AAAA&ref=v1", "git::ssh://git@example.com/r.git//c.yaml?ref=v1&sshkey=redacted"},
	}
	for _, tt := range tests {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
