package local

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// remapper gives a node a private filesystem root. Absolute paths that the
// template declares (input/output artifact paths, output parameter paths,
// emptyDir mount paths) are moved under root, and every occurrence of them in
// the command, args, script source, env and working directory is rewritten,
// so parallel nodes that all write "/tmp/out" never collide.
type remapper struct {
	root  string
	paths []string // declared absolute paths, longest first
	dirs  []string // paths that must exist as directories (emptyDir mounts)
}

func newRemapper(root string, t *wfv1.Template) *remapper {
	rm := &remapper{root: root}
	seen := map[string]bool{}
	add := func(p string) {
		p = filepath.Clean(p)
		if !filepath.IsAbs(p) || p == "/" || seen[p] {
			return
		}
		seen[p] = true
		rm.paths = append(rm.paths, p)
	}
	for _, a := range t.Inputs.Artifacts {
		add(a.Path)
	}
	for _, a := range t.Outputs.Artifacts {
		add(a.Path)
	}
	for _, p := range t.Outputs.Parameters {
		if p.ValueFrom != nil {
			add(p.ValueFrom.Path)
		}
	}
	var mounts []string
	if t.Container != nil {
		for _, m := range t.Container.VolumeMounts {
			mounts = append(mounts, m.MountPath)
		}
	}
	if t.Script != nil {
		for _, m := range t.Script.VolumeMounts {
			mounts = append(mounts, m.MountPath)
		}
	}
	for _, m := range mounts {
		add(m)
		rm.dirs = append(rm.dirs, filepath.Clean(m))
	}
	sort.Slice(rm.paths, func(i, j int) bool { return len(rm.paths[i]) > len(rm.paths[j]) })
	return rm
}

// prepare creates the parent directories of every remapped path.
func (rm *remapper) prepare() error {
	for _, p := range rm.paths {
		if err := os.MkdirAll(filepath.Dir(rm.mapPath(p)), 0o755); err != nil {
			return fmt.Errorf("prepare %s: %w", p, err)
		}
	}
	// A declared path that is a directory every image has (/tmp, /etc, …)
	// gets its own empty copy so writes under it work. Only this fixed set:
	// what happens to exist on the host must not turn a declared file path
	// such as /tmp/out into a directory.
	for _, p := range rm.paths {
		if imageDirs[p] {
			if err := os.MkdirAll(rm.mapPath(p), 0o755); err != nil {
				return fmt.Errorf("prepare %s: %w", p, err)
			}
		}
	}
	for _, d := range rm.dirs {
		if err := os.MkdirAll(rm.mapPath(d), 0o755); err != nil {
			return fmt.Errorf("prepare mount %s: %w", d, err)
		}
	}
	return nil
}

// imageDirs are the directories of the filesystem hierarchy that every container image has.
var imageDirs = map[string]bool{
	"/bin": true, "/etc": true, "/home": true, "/mnt": true, "/opt": true, "/root": true, "/run": true,
	"/srv": true, "/tmp": true, "/usr": true, "/usr/local": true, "/var": true, "/var/tmp": true, "/var/log": true,
}

// mapPath returns where an absolute path lives for this node. Paths under
// a declared path are remapped with it; relative paths are relative to the
// node's root.
func (rm *remapper) mapPath(p string) string {
	if !filepath.IsAbs(p) {
		return filepath.Join(rm.root, p)
	}
	c := filepath.Clean(p)
	for _, d := range rm.paths {
		if c == d || strings.HasPrefix(c, d+"/") {
			return filepath.Join(rm.root, c)
		}
	}
	// Undeclared absolute paths (a working directory, say) still get a
	// private copy rather than touching the host.
	return filepath.Join(rm.root, c)
}

// mapText rewrites occurrences of declared paths inside free text.
func (rm *remapper) mapText(s string) string {
	for _, p := range rm.paths {
		if !strings.Contains(s, p) {
			continue
		}
		var b strings.Builder
		rest := s
		for {
			i := strings.Index(rest, p)
			if i < 0 {
				b.WriteString(rest)
				break
			}
			end := i + len(p)
			before := i == 0 || !isPathChar(rest[i-1])
			after := end == len(rest) || !isNameChar(rest[end])
			b.WriteString(rest[:i])
			if before && after {
				b.WriteString(filepath.Join(rm.root, p))
			} else {
				b.WriteString(p)
			}
			rest = rest[end:]
		}
		s = b.String()
	}
	return s
}

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func isPathChar(c byte) bool {
	return isNameChar(c) || c == '.' || c == '/' || c == '~'
}
