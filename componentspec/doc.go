// Package componentspec reads container components from YAML spec files, so that a component
// can be shared as a file in a git repository, on a web server or in a bucket and used in a
// pipeline without Go code of its own.
//
// A spec declares the component's name, typed inputs and outputs and the container that runs it:
//
//	apiVersion: kiln.dev/v1
//	kind: Component
//	name: train-sklearn
//	inputs:
//	  - {name: data, type: Dataset}
//	  - {name: lr, type: float, default: 0.1}
//	outputs:
//	  - {name: model, type: Model}
//	implementation:
//	  container:
//	    image: python:3.12-slim
//	    command: [python3, /app/train.py]
//	    args: [--data, "{{inputs.data.path}}", --lr, "{{inputs.lr}}", --model, "{{outputs.model.path}}"]
//
// Parse checks a spec and reports every problem with its field path; Load fetches one through
// go-getter (local paths, file://, http(s), git::, s3::, gcs::) and parses it; Spec.Component
// turns a checked spec into a *dsl.UntypedComponent whose tasks are added to pipelines with
// Task. The format is documented in docs/component-spec.md.
package componentspec
