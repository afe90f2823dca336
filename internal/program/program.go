// Package program gives a user's pipeline program its command line: compile, run, submit and
// the hidden component entrypoint.
package program

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kilnml/kiln/compiler"
	"github.com/kilnml/kiln/dsl"
	"github.com/kilnml/kiln/internal/entrypoint"
)

// Command returns the root command of a pipeline program for pipeline p.
func Command(p *dsl.Pipeline) *cobra.Command {
	root := &cobra.Command{
		Use:           programName(),
		Short:         fmt.Sprintf("Kiln pipeline %q", p.Name()),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(compileCommand(p), componentCommand(p))
	for _, extra := range extraCommands {
		root.AddCommand(extra(p))
	}
	return root
}

// extraCommands are added by other files of this package (run, submit), keeping this file free
// of the engine and backend dependencies.
var extraCommands []func(*dsl.Pipeline) *cobra.Command

func programName() string {
	name := os.Args[0]
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// compileFlags are the flags shared by compile, run and submit.
type compileFlags struct {
	kind     string
	image    string
	binary   string
	params   []string
	validate bool
}

func (f *compileFlags) register(cmd *cobra.Command, withKind bool) {
	if withKind {
		cmd.Flags().StringVar(&f.kind, "kind", string(compiler.KindWorkflow), "object to produce: workflow, template or cron")
	}
	cmd.Flags().StringVar(&f.image, "image", "", "image that runs Go-function components (overrides dsl.Image)")
	cmd.Flags().StringVar(&f.binary, "binary", compiler.DefaultBinary, "path of this program inside the image")
	cmd.Flags().StringArrayVarP(&f.params, "param", "p", nil, "pipeline input as NAME=VALUE (repeatable)")
	cmd.Flags().BoolVar(&f.validate, "validate", true, "also check the output with Argo's own validation")
}

// Params parses NAME=VALUE pairs.
func Params(pairs []string) (map[string]string, error) {
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("parameter %q: want NAME=VALUE", p)
		}
		out[k] = v
	}
	return out, nil
}

func (f *compileFlags) compile(ctx context.Context, p *dsl.Pipeline) (*compiler.Result, error) {
	params, err := Params(f.params)
	if err != nil {
		return nil, err
	}
	kind := compiler.Kind(f.kind)
	if kind == "" {
		kind = compiler.KindWorkflow
	}
	res, err := compiler.Compile(p, compiler.Options{Kind: kind, Image: f.image, Binary: f.binary, Params: params})
	if err != nil {
		return nil, err
	}
	if f.validate {
		if err := compiler.ValidateArgo(ctx, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func compileCommand(p *dsl.Pipeline) *cobra.Command {
	var f compileFlags
	var out string
	cmd := &cobra.Command{
		Use:   "compile",
		Short: "Write the pipeline as Argo Workflows YAML",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := f.compile(cmd.Context(), p)
			if err != nil {
				return err
			}
			b, err := res.YAML()
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			return os.WriteFile(out, b, 0o644)
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (default standard output)")
	return cmd
}

// ComponentCommandName is the hidden subcommand that runs one Go-function component.
const ComponentCommandName = "component"

func componentCommand(p *dsl.Pipeline) *cobra.Command {
	return &cobra.Command{
		Use:                ComponentCommandName + " NAME [--param k=v] [--input k=path] [--output k=path]",
		Short:              "Run one Go-function component (used inside pods and by the local engine)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := entrypoint.ParseArgs(args)
			if err != nil {
				return err
			}
			c := entrypoint.Find(p.Graph(), req.Component)
			if c == nil {
				return fmt.Errorf("pipeline %q has no Go component %q", p.Name(), req.Component)
			}
			return entrypoint.Run(cmd.Context(), c, req)
		},
	}
}

// Main runs the program's command line and returns its exit status.
func Main(ctx context.Context, p *dsl.Pipeline, args []string, stdout, stderr io.Writer) int {
	cmd := Command(p)
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}
