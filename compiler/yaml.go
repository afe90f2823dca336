package compiler

import (
	"bytes"
	"encoding/json"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"sigs.k8s.io/yaml"
)

// objectOut is the serialized form of a compiled object: Kubernetes' ObjectMeta and the Argo
// types' status would otherwise add empty fields (creationTimestamp: null, status: {}).
type objectOut struct {
	APIVersion string  `json:"apiVersion"`
	Kind       string  `json:"kind"`
	Metadata   metaOut `json:"metadata"`
	Spec       any     `json:"spec"`
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
	switch {
	case r.Template != nil:
		out = objectOut{APIVersion: r.Template.APIVersion, Kind: r.Template.Kind, Spec: &r.Template.Spec, Metadata: metaOf(r.Template.Name, r.Template.GenerateName, r.Template.Namespace, r.Template.Labels, r.Template.Annotations)}
	case r.Cron != nil:
		out = objectOut{APIVersion: r.Cron.APIVersion, Kind: r.Cron.Kind, Spec: &r.Cron.Spec, Metadata: metaOf(r.Cron.Name, r.Cron.GenerateName, r.Cron.Namespace, r.Cron.Labels, r.Cron.Annotations)}
	default:
		w := r.Workflow
		out = objectOut{APIVersion: w.APIVersion, Kind: w.Kind, Spec: &w.Spec, Metadata: metaOf(w.Name, w.GenerateName, w.Namespace, w.Labels, w.Annotations)}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return prune(b), nil
}

func metaOf(name, generateName, namespace string, labels, annotations map[string]string) metaOut {
	return metaOut{Name: name, GenerateName: generateName, Namespace: namespace, Labels: labels, Annotations: annotations}
}

// YAML serializes the compiled object. The output is deterministic: the same pipeline and options
// give byte-identical YAML.
func (r *Result) YAML() ([]byte, error) {
	b, err := r.JSON()
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(b)
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
