package argo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// writeStrict sends obj to the API server with strict field validation: a
// POST creating it in namespace ns (name empty) or a PUT replacing the named
// object. The response is decoded into out.
//
// The typed clients cannot be used as they are: Go encodes an unset
// metav1.Time as null, and strict validation rejects a null field that the
// CRD schema does not list (CronWorkflow's spec.workflowMetadata has no
// creationTimestamp). Null fields mean "unset" in a create or replace, so
// they are dropped before sending.
func (e *Engine) writeStrict(ctx context.Context, method, resource, ns, name string, obj, out runtime.Object) error {
	// A new object has no status (the Workflow CRD has no status
	// subresource, so one sent here would be stored); a replaced one keeps
	// the status it carries.
	body, err := withoutNulls(obj, kinds[resource], method == http.MethodPost)
	if err != nil {
		return err
	}
	req := e.wfc.ArgoprojV1alpha1().RESTClient().Verb(method).
		Namespace(ns).Resource(resource).
		Param("fieldValidation", metav1.FieldValidationStrict).
		SetHeader("Content-Type", "application/json").
		Body(body)
	if method == http.MethodPut {
		req = req.Name(name)
	}
	return req.Do(ctx).Into(out)
}

// kinds maps the resources written with writeStrict to their kinds.
var kinds = map[string]string{
	"workflows":         "Workflow",
	"workflowtemplates": "WorkflowTemplate",
	"cronworkflows":     "CronWorkflow",
}

// withoutNulls encodes v as JSON with every null-valued object field removed
// and its apiVersion and kind set (objects read through a typed client carry
// neither); with dropStatus its status is left out.
func withoutNulls(v any, kind string, dropStatus bool) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // keep integers exact
	var m any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	prune(m)
	if obj, ok := m.(map[string]any); ok {
		obj["apiVersion"] = wfv1.SchemeGroupVersion.String()
		obj["kind"] = kind
		if dropStatus {
			delete(obj, "status")
		}
	}
	return json.Marshal(m)
}

func prune(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if x == nil {
				delete(t, k)
				continue
			}
			prune(x)
		}
	case []any:
		for _, x := range t {
			prune(x)
		}
	}
}
