package compiler

import (
	"context"
	"fmt"

	"github.com/argoproj/argo-workflows/v3/workflow/validate"
)

// ValidateArgo checks the compiled object with Argo's own validation (the checks the Argo server
// runs on submission). The compiler's own checks do not depend on it: it is quadratic on long
// chains of tasks, so callers may skip it for very large pipelines.
func ValidateArgo(ctx context.Context, r *Result) error {
	var err error
	switch {
	case r.Workflow != nil:
		err = validate.ValidateWorkflow(nil, nil, r.Workflow, nil, validate.ValidateOpts{})
	case r.Template != nil:
		err = validate.ValidateWorkflowTemplate(nil, nil, r.Template, nil, validate.ValidateOpts{})
	case r.Cron != nil:
		err = validate.ValidateCronWorkflow(ctx, nil, nil, r.Cron, nil)
	default:
		return fmt.Errorf("argo validation: empty result")
	}
	if err != nil {
		return fmt.Errorf("argo validation: %w", err)
	}
	return nil
}
