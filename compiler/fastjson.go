package compiler

import (
	"bytes"
	"encoding/json"

	"unicode/utf8"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// DAG tasks are most of a large pipeline's bytes, and encoding/json spends most of its time on
// them (reflection and the MarshalJSON methods of Argo's string types). The encoder below
// writes the DAG tasks the compiler produces directly; any task using a field it does not know
// goes through encoding/json, so the output never depends on which path was taken.

// appendTemplates appends the JSON of the templates, DAG tasks encoded by the fast path.
func appendTemplates(dst []byte, ts []wfv1.Template) ([]byte, error) {
	dst = append(dst, '[')
	for i := range ts {
		if i > 0 {
			dst = append(dst, ',')
		}
		t := &ts[i]
		if t.DAG == nil || len(t.DAG.Tasks) == 0 {
			b, err := json.Marshal(t)
			if err != nil {
				return nil, err
			}
			dst = append(dst, b...)
			continue
		}
		shallow := *t
		dag := *t.DAG
		dag.Tasks = nil
		shallow.DAG = &dag
		b, err := json.Marshal(&shallow)
		if err != nil {
			return nil, err
		}
		// "tasks":null appears once: quotes inside JSON strings are escaped.
		at := bytes.Index(b, []byte(`"tasks":null`))
		dst = append(dst, b[:at]...)
		dst = append(dst, `"tasks":[`...)
		for j := range t.DAG.Tasks {
			if j > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendDAGTask(dst, &t.DAG.Tasks[j]); err != nil {
				return nil, err
			}
		}
		dst = append(dst, ']')
		dst = append(dst, b[at+len(`"tasks":null`):]...)
	}
	return append(dst, ']'), nil
}

// appendDAGTask appends one DAG task in encoding/json's field order.
func appendDAGTask(dst []byte, t *wfv1.DAGTask) ([]byte, error) {
	if !simpleTask(t) {
		b, err := json.Marshal(t)
		return append(dst, b...), err
	}
	dst = append(dst, `{"name":`...)
	dst = appendString(dst, t.Name)
	dst = append(dst, `,"template":`...)
	dst = appendString(dst, t.Template)
	if len(t.Arguments.Parameters) > 0 || len(t.Arguments.Artifacts) > 0 {
		dst = append(dst, `,"arguments":{`...)
		if len(t.Arguments.Parameters) > 0 {
			dst = append(dst, `"parameters":[`...)
			for i, p := range t.Arguments.Parameters {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, `{"name":`...)
				dst = appendString(dst, p.Name)
				dst = append(dst, `,"value":`...)
				dst = appendString(dst, p.Value.String())
				dst = append(dst, '}')
			}
			dst = append(dst, ']')
		}
		if len(t.Arguments.Artifacts) > 0 {
			if len(t.Arguments.Parameters) > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `"artifacts":[`...)
			for i, a := range t.Arguments.Artifacts {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, `{"name":`...)
				dst = appendString(dst, a.Name)
				dst = append(dst, `,"from":`...)
				dst = appendString(dst, a.From)
				dst = append(dst, '}')
			}
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	}
	if t.WithParam != "" {
		dst = append(dst, `,"withParam":`...)
		dst = appendString(dst, t.WithParam)
	}
	if t.When != "" {
		dst = append(dst, `,"when":`...)
		dst = appendString(dst, t.When)
	}
	if t.Depends != "" {
		dst = append(dst, `,"depends":`...)
		dst = appendString(dst, t.Depends)
	}
	return append(dst, '}'), nil
}

// simpleTask reports whether the fast path knows every field t sets.
func simpleTask(t *wfv1.DAGTask) bool {
	if t.Inline != nil || t.TemplateRef != nil || len(t.Dependencies) > 0 || len(t.WithItems) > 0 ||
		t.WithSequence != nil || t.ContinueOn != nil || t.OnExit != "" || len(t.Hooks) > 0 || t.Template == "" {
		return false
	}
	for _, p := range t.Arguments.Parameters {
		if p.Value == nil || p.Default != nil || p.ValueFrom != nil || p.Enum != nil || p.Description != nil || p.GlobalName != "" {
			return false
		}
	}
	for _, a := range t.Arguments.Artifacts {
		if !(a == wfv1.Artifact{Name: a.Name, From: a.From}) {
			return false
		}
	}
	return true
}

// appendString appends s as a JSON string.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\r':
				dst = append(dst, '\\', 'r')
			default:
				dst = append(dst, `\u00`...)
				dst = append(dst, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
