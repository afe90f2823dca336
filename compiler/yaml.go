package compiler

import (
	"bytes"
	"encoding/json"
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/kilnml/kiln/internal/yamlenc"
)

// objectOut is the serialized form of a compiled object: Kubernetes' ObjectMeta and the Argo
// types' status would otherwise add empty fields (creationTimestamp: null, status: {}).
type objectOut struct {
	APIVersion string  `json:"apiVersion"`
	Kind       string  `json:"kind"`
	Metadata   metaOut `json:"metadata"`
	Spec       any     `json:"spec"` // always a json.RawMessage
}

type metaOut struct {
	Name         string            `json:"name,omitempty"`
	GenerateName string            `json:"generateName,omitempty"`
	Namespace    string            `json:"namespace,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// JSON serializes the compiled object compactly, without empty fields.
func (r *Result) JSON() ([]byte, error) {
	var out objectOut
	var spec *wfv1.WorkflowSpec
	switch {
	case r.Template != nil:
		out = objectOut{APIVersion: r.Template.APIVersion, Kind: r.Template.Kind, Metadata: metaOf(r.Template.Name, r.Template.GenerateName, r.Template.Namespace, r.Template.Labels, r.Template.Annotations)}
		spec = &r.Template.Spec
	case r.Cron != nil:
		out = objectOut{APIVersion: r.Cron.APIVersion, Kind: r.Cron.Kind, Metadata: metaOf(r.Cron.Name, r.Cron.GenerateName, r.Cron.Namespace, r.Cron.Labels, r.Cron.Annotations)}
		cs := r.Cron.Spec
		cs.WorkflowSpec.Templates = nil
		specJSON, err := spliceTemplates(&cs, r.Cron.Spec.WorkflowSpec.Templates, []byte(`"workflowSpec":{`))
		if err != nil {
			return nil, err
		}
		out.Spec = json.RawMessage(specJSON)
	default:
		w := r.Workflow
		out = objectOut{APIVersion: w.APIVersion, Kind: w.Kind, Metadata: metaOf(w.Name, w.GenerateName, w.Namespace, w.Labels, w.Annotations)}
		spec = &w.Spec
	}
	if spec != nil {
		s := *spec
		s.Templates = nil
		specJSON, err := spliceTemplates(&s, spec.Templates, []byte(`{`))
		if err != nil {
			return nil, err
		}
		out.Spec = json.RawMessage(specJSON)
	}
	// Assemble by hand: marshalling a json.RawMessage would re-validate and copy the spec.
	head, err := json.Marshal(struct {
		APIVersion string  `json:"apiVersion"`
		Kind       string  `json:"kind"`
		Metadata   metaOut `json:"metadata"`
	}{out.APIVersion, out.Kind, out.Metadata})
	if err != nil {
		return nil, err
	}
	specJSON := out.Spec.(json.RawMessage)
	b := make([]byte, 0, len(head)+len(specJSON)+16)
	b = append(b, head[:len(head)-1]...)
	b = append(b, `,"spec":`...)
	b = append(b, specJSON...)
	b = append(b, '}')
	return prune(b), nil
}

// spliceTemplates marshals v (a spec whose templates were removed) and inserts the templates,
// encoded by appendTemplates, right after the first occurrence of at, where encoding/json would
// have put them (templates is the first field of a workflow spec).
func spliceTemplates(v any, ts []wfv1.Template, at []byte) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return b, nil
	}
	i := bytes.Index(b, at)
	if i < 0 {
		return nil, fmt.Errorf("serialize: no %s in the spec", at)
	}
	i += len(at)
	size := len(b)
	for i := range ts {
		size += 512
		if ts[i].DAG != nil {
			size += 192 * len(ts[i].DAG.Tasks)
		}
	}
	out := make([]byte, 0, size)
	out = append(out, b[:i]...)
	out = append(out, `"templates":`...)
	if out, err = appendTemplates(out, ts); err != nil {
		return nil, err
	}
	if b[i] != '}' {
		out = append(out, ',')
	}
	return append(out, b[i:]...), nil
}

func metaOf(name, generateName, namespace string, labels, annotations map[string]string) metaOut {
	return metaOut{Name: name, GenerateName: generateName, Namespace: namespace, Labels: labels, Annotations: annotations}
}

// yamlOptions writes small collections (a task's arguments, a parameter) on one line in flow
// style: most of a large pipeline's bytes would otherwise be indentation.
var yamlOptions = yamlenc.Options{FlowWidth: 64}

// YAML serializes the compiled object. The output is deterministic: the same pipeline and options
// give byte-identical YAML.
func (r *Result) YAML() ([]byte, error) {
	b, err := r.JSON()
	if err != nil {
		return nil, err
	}
	return yamlOptions.AppendFromJSON(make([]byte, 0, len(b)+len(b)/2), b)
}

// empties are members that Argo's and Kubernetes' types serialize although they are empty; they
// carry no meaning, so the output leaves them out. Because encoding/json escapes quotes inside
// strings, these byte patterns can only match real members.
var empties = [][]byte{
	[]byte(`"inputs":{}`),
	[]byte(`"outputs":{}`),
	[]byte(`"metadata":{}`),
	[]byte(`"arguments":{}`),
	[]byte(`"resources":{}`),
	[]byte(`"name":""`),
}

// prune removes empty members from compact JSON in one pass.
func prune(in []byte) []byte {
	out := make([]byte, 0, len(in))
	inStr := false
	for i := 0; i < len(in); i++ {
		c := in[i]
		if inStr {
			out = append(out, c)
			switch c {
			case '\\':
				i++
				out = append(out, in[i])
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
			out = append(out, c)
		case '{', ',':
			j := i + 1
			for {
				n := emptyMember(in[j:])
				if n == 0 {
					break
				}
				j += n
				if j < len(in) && in[j] == ',' {
					j++
					continue
				}
				break
			}
			if !(c == ',' && j < len(in) && in[j] == '}') {
				out = append(out, c)
			}
			i = j - 1
		default:
			out = append(out, c)
		}
	}
	return out
}

// emptyMember returns the length of the empty member b starts with, or 0.
func emptyMember(b []byte) int {
	if len(b) < 2 || b[0] != '"' {
		return 0
	}
	for _, e := range empties {
		if bytes.HasPrefix(b, e) && len(b) > len(e) && (b[len(e)] == ',' || b[len(e)] == '}') {
			return len(e)
		}
	}
	return 0
}

// ParseWorkflow reads a Workflow from YAML or JSON, rejecting unknown fields.
func ParseWorkflow(data []byte) (*wfv1.Workflow, error) {
	var wf wfv1.Workflow
	if err := yaml.UnmarshalStrict(data, &wf); err != nil {
		return nil, err
	}
	return &wf, nil
}
