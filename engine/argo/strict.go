package argo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

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
	body, err := withoutNulls(obj)
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

// withoutNulls encodes v as JSON with every null-valued object field removed.
func withoutNulls(v any) ([]byte, error) {
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
