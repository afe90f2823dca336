// Package dockerfile reads the Dockerfiles of Kiln's images so tests can check them without
// Docker: the files they copy from the build context exist, the Go packages they build exist, and
// the image name their documented build command gives.
package dockerfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Instruction is one Dockerfile instruction.
type Instruction struct {
	Cmd   string   // upper case: FROM, COPY, RUN…
	Flags []string // --from=build, --chown=…
	Args  []string
	Line  int // where the instruction starts, from 1
}

// Parse splits the Dockerfile at path into instructions: comments are returned apart,
// continuation lines joined, exec-form (JSON array) arguments decoded.
func Parse(path string) (insts []Instruction, comments string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
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
		in := Instruction{Cmd: strings.ToUpper(cmd), Line: start}
		rest = strings.TrimSpace(rest)
		for strings.HasPrefix(rest, "--") {
			var f string
			f, rest, _ = strings.Cut(rest, " ")
			in.Flags = append(in.Flags, f)
			rest = strings.TrimSpace(rest)
		}
		if strings.HasPrefix(rest, "[") {
			if err := json.Unmarshal([]byte(rest), &in.Args); err != nil {
				return nil, "", fmt.Errorf("%s:%d: %s: %w", path, start, rest, err)
			}
		} else {
			in.Args = strings.Fields(rest)
		}
		insts = append(insts, in)
	}
	return insts, comments, nil
}

// Image is what Check learned of a Dockerfile.
type Image struct {
	// Name is the image name of the documented build command, `docker build -f REL -t NAME .`.
	Name string
	// Dests are the paths the final stage copies files to.
	Dests []string
	// Instructions are the Dockerfile's instructions.
	Instructions []Instruction
}

// Check reads the Dockerfile rel (relative to root, the build context) and reports every
// problem: no documented build command, a COPY source missing from the build context, a
// `go build` of a path that is not a package directory.
func Check(root, rel string) (*Image, error) {
	insts, comments, err := Parse(filepath.Join(root, rel))
	if err != nil {
		return nil, err
	}
	img := &Image{Instructions: insts}
	var errs []error
	m := regexp.MustCompile(`docker build -f (\S+) -t (\S+) \.`).FindStringSubmatch(comments)
	if m == nil || m[1] != rel {
		errs = append(errs, fmt.Errorf("%s documents no `docker build -f %s -t NAME .` command", rel, rel))
	} else {
		img.Name = m[2]
	}
	goBuild := regexp.MustCompile(`go build .*?(\./\S+)`)
	for _, in := range insts {
		switch in.Cmd {
		case "FROM":
			img.Dests = nil // only the final stage's files are in the image
		case "COPY", "ADD":
			if len(in.Args) < 2 {
				errs = append(errs, fmt.Errorf("%s:%d: %s needs a source and a destination", rel, in.Line, in.Cmd))
				continue
			}
			src, dst := in.Args[:len(in.Args)-1], in.Args[len(in.Args)-1]
			fromStage := slices.ContainsFunc(in.Flags, func(f string) bool { return strings.HasPrefix(f, "--from=") })
			for _, s := range src {
				if strings.HasSuffix(dst, "/") {
					img.Dests = append(img.Dests, dst+filepath.Base(s))
				} else {
					img.Dests = append(img.Dests, dst)
				}
				if fromStage {
					continue
				}
				if _, err := os.Stat(filepath.Join(root, s)); err != nil {
					errs = append(errs, fmt.Errorf("%s:%d: COPY source %s is not in the build context (the repository root): %w", rel, in.Line, s, err))
				}
			}
		case "RUN":
			for _, cmd := range strings.Split(strings.Join(in.Args, " "), "&&") {
				if p := goBuild.FindStringSubmatch(cmd); p != nil {
					if st, err := os.Stat(filepath.Join(root, p[1])); err != nil || !st.IsDir() {
						errs = append(errs, fmt.Errorf("%s:%d: go build of %s, which is not a package directory", rel, in.Line, p[1]))
					}
				}
			}
		}
	}
	return img, errors.Join(errs...)
}
