package ir

import (
	"strconv"
	"strings"
)

// Path locates a problem in DSL terms: pipeline "train-eval" › task "train" › input "lr".
type Path struct {
	parent *Path
	kind   string
	name   string
}

// NewPath starts a path at the named element (usually the pipeline).
func NewPath(kind, name string) *Path { return &Path{kind: kind, name: name} }

// Child returns the path extended by one element.
func (p *Path) Child(kind, name string) *Path { return &Path{parent: p, kind: kind, name: name} }

// String formats the path as users read it.
func (p *Path) String() string {
	if p == nil {
		return ""
	}
	var parts []string
	for q := p; q != nil; q = q.parent {
		s := q.kind
		if q.name != "" {
			s += " " + strconv.Quote(q.name)
		}
		parts = append(parts, s)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, " › ")
}

// PipelinePath returns the path of a pipeline.
func PipelinePath(p *Pipeline) *Path { return NewPath("pipeline", p.Name) }

// TaskPath returns the path of a task within its pipeline.
func TaskPath(t *Task) *Path { return PipelinePath(t.Block.Pipeline).Child("task", t.Name) }
