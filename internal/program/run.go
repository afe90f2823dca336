package program

import (
	"errors"
	"fmt"
	"os"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/spf13/cobra"

	"github.com/kilnml/kiln/compiler"
	"github.com/kilnml/kiln/dsl"
	"github.com/kilnml/kiln/internal/runcli"
)

func init() { extraCommands = append(extraCommands, runCommand) }

// runCommand compiles the pipeline and runs it with the local engine; Go-function components
// run through this very program.
func runCommand(p *dsl.Pipeline) *cobra.Command {
	var f compileFlags
	var opts runcli.RunOptions
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Compile the pipeline and run it on this machine",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.kind = string(compiler.KindWorkflow)
			if f.image == "" {
				f.image = "local" // Go components run through this binary, not an image
			}
			res, err := f.compile(cmd.Context(), p)
			if err != nil {
				return err
			}
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find this program: %w", err)
			}
			opts.PipelineBinary = self
			phase, err := runcli.RunWorkflow(cmd.Context(), res.Workflow, opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if phase != wfv1.WorkflowSucceeded {
				return errors.New("the run did not succeed: " + string(phase))
			}
			return nil
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&opts.WorkDir, "workdir", "", "directory for run files (default $TMPDIR/kiln-runs)")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "text", "output format: text or json")
	return cmd
}
