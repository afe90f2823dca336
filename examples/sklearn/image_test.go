package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kilnml/kiln/compiler"
)

// No Docker on the build machine: this test checks the image definition statically (every file
// the Dockerfile copies from the build context exists, every package it builds exists, the
// scripts and the pipeline program land where the pipeline runs them) and that the compiled
// workflow runs the image the Dockerfile documents. (parseDockerfile and checkDockerfile are
// the same as in examples/flagship's test; test files cannot share a package.)

// instruction is one Dockerfile instruction.
type instruction struct {
	cmd   string   // upper case: FROM, COPY, RUN…
	flags []string // --from=build, --chown=…
	args  []string
	line  int
}

// parseDockerfile splits a Dockerfile into instructions: comments dropped, continuation lines
// joined, exec-form (JSON array) arguments decoded.
func parseDockerfile(t *testing.T, path string) (insts []instruction, comments string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(string(b), "\n") {
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "#") {
			comments += trim + "\n"
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if rest, ok := strings.CutSuffix(trim, "\\"); ok {
			cur.WriteString(rest + " ")
			continue
		}
		cur.WriteString(trim)
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			continue
		}
		cmd, rest, _ := strings.Cut(text, " ")
		in := instruction{cmd: strings.ToUpper(cmd), line: start}
		rest = strings.TrimSpace(rest)
		for strings.HasPrefix(rest, "--") {
			var f string
			f, rest, _ = strings.Cut(rest, " ")
			in.flags = append(in.flags, f)
			rest = strings.TrimSpace(rest)
		}
		if strings.HasPrefix(rest, "[") {
			if err := json.Unmarshal([]byte(rest), &in.args); err != nil {
				t.Fatalf("%s:%d: %s: %v", path, start, rest, err)
			}
		} else {
			in.args = strings.Fields(rest)
		}
		insts = append(insts, in)
	}
	return insts, comments
}

// checkDockerfile checks a Dockerfile built from the repository root and returns the image
// name of its documented build command (docker build ... -t NAME .) and the destinations its
// final stage copies to.
func checkDockerfile(t *testing.T, root, rel string) (image string, dests []string) {
	t.Helper()
	insts, comments := parseDockerfile(t, filepath.Join(root, rel))
	m := regexp.MustCompile(`docker build -f (\S+) -t (\S+) \.`).FindStringSubmatch(comments)
	if m == nil || m[1] != rel {
		t.Fatalf("%s documents no `docker build -f %s -t NAME .` command", rel, rel)
	}
	image = m[2]
	goBuild := regexp.MustCompile(`go build .*?(\./\S+)`)
	for _, in := range insts {
		switch in.cmd {
		case "FROM":
			dests = nil // only the final stage's files are in the image
		case "COPY", "ADD":
			if len(in.args) < 2 {
				t.Errorf("%s:%d: %s needs a source and a destination", rel, in.line, in.cmd)
				continue
			}
			src, dst := in.args[:len(in.args)-1], in.args[len(in.args)-1]
			for _, s := range src {
				if strings.HasSuffix(dst, "/") {
					dests = append(dests, dst+filepath.Base(s))
				} else {
					dests = append(dests, dst)
				}
				if slices.ContainsFunc(in.flags, func(f string) bool { return strings.HasPrefix(f, "--from=") }) {
					continue
				}
				if _, err := os.Stat(filepath.Join(root, s)); err != nil {
					t.Errorf("%s:%d: COPY source %s is not in the build context (the repository root): %v", rel, in.line, s, err)
				}
			}
		case "RUN":
			for _, cmd := range strings.Split(strings.Join(in.args, " "), "&&") {
				if p := goBuild.FindStringSubmatch(cmd); p != nil {
					if st, err := os.Stat(filepath.Join(root, p[1])); err != nil || !st.IsDir() {
						t.Errorf("%s:%d: go build of %s, which is not a package directory", rel, in.line, p[1])
					}
				}
			}
		}
	}
	return image, dests
}

func TestImage(t *testing.T) {
	root := filepath.Join("..", "..")
	image, dests := checkDockerfile(t, root, "examples/sklearn/Dockerfile")
	if image != Image {
		t.Errorf("Dockerfile builds %q, the pipeline names %q", image, Image)
	}
	for _, want := range []string{compiler.DefaultBinary, "/kiln/examples/sklearn/scripts", "/kiln/datasets/breast-cancer"} {
		if !slices.Contains(dests, want) {
			t.Errorf("image lacks %s (final stage copies %v)", want, dests)
		}
	}
	insts, _ := parseDockerfile(t, filepath.Join(root, "examples/sklearn/Dockerfile"))
	var run string
	for _, in := range insts {
		if in.cmd == "RUN" {
			run += strings.Join(in.args, " ") + "\n"
		}
	}
	for _, pkg := range []string{"python3-sklearn", "python3-pandas"} {
		if !strings.Contains(run, pkg) {
			t.Errorf("no apt-get install of %s", pkg)
		}
	}
	if regexp.MustCompile(`\bpip3? +install`).MatchString(run) {
		t.Error("the image downloads Python packages with pip; use Debian's")
	}
	res, err := compiler.Compile(pipeline, compiler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var scriptsDefault string
	for _, p := range res.Workflow.Spec.Arguments.Parameters {
		if p.Name == "scripts" && p.Value != nil {
			scriptsDefault = p.Value.String()
		}
	}
	if scriptsDefault != "/kiln/examples/sklearn/scripts" {
		t.Errorf("scripts input defaults to %q, not the image's scripts directory", scriptsDefault)
	}
	n := 0
	for _, tmpl := range res.Workflow.Spec.Templates {
		if tmpl.Container == nil {
			continue
		}
		n++
		if tmpl.Container.Image != image {
			t.Errorf("template %s runs %q, want the Dockerfile's %q", tmpl.Name, tmpl.Container.Image, image)
		}
	}
	if n < 5 {
		t.Errorf("%d container templates, want 5", n)
	}
}
