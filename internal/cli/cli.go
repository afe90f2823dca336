// Package cli is the `kiln` command line.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/kilnml/kiln/internal/runcli"
)

// Version is the release version, set at build time with
// -ldflags "-X github.com/kilnml/kiln/internal/cli.Version=v1.2.3".
var Version = ""

// Command returns the root `kiln` command.
func Command() *cobra.Command {
	root := &cobra.Command{
		Use:           "kiln",
		Short:         "Kiln: ML pipelines in Go, run on this machine or on Argo Workflows",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(compileCommand(), localAndServerRun(), versionCommand())
	for _, extra := range extraCommands {
		root.AddCommand(extra())
	}
	return root
}

// localAndServerRun is `kiln run`: with a file it runs an Argo Workflow on this machine; its
// subcommands (create, list, get, logs, cancel, retry, wait) are those of `kiln runs` and talk
// to a Kiln server.
func localAndServerRun() *cobra.Command {
	local := runcli.Command()
	server := runCommand()
	for _, sub := range server.Commands() {
		server.RemoveCommand(sub)
		sub.Flags().AddFlagSet(server.PersistentFlags())
		local.AddCommand(sub)
	}
	return local
}

// extraCommands are registered by other files of this package as subsystems land.
var extraCommands []func() *cobra.Command

// Main runs the command line with args and returns the exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := Command()
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	if err := cmd.ExecuteContext(ctx); err != nil {
		if !errors.Is(err, runcli.ErrNotSucceeded) {
			fmt.Fprintln(stderr, "kiln:", err)
		}
		return 1
	}
	return 0
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print Kiln's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "kiln", versionString())
			return nil
		},
	}
}

func versionString() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// compileCommand builds a pipeline program and runs its compile subcommand.
func compileCommand() *cobra.Command {
	var passthrough []string
	cmd := &cobra.Command{
		Use:   "compile PACKAGE [flags]",
		Short: "Compile a pipeline program's pipeline to Argo Workflows YAML",
		Long: `Compile builds the Go package PACKAGE (a pipeline program: a main package that
calls kiln.Main) and runs its compile subcommand, which writes the pipeline as
Argo Workflows YAML. Flags after the package are passed to it:
  -o FILE, --kind workflow|template|cron, --image IMG, -p NAME=VALUE, --validate=false`,
		Args:               cobra.MinimumNArgs(1),
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] == "-h" || args[0] == "--help" {
				return cmd.Help()
			}
			passthrough = args[1:]
			return buildAndRun(cmd.Context(), args[0], append([]string{"compile"}, passthrough...), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	return cmd
}

// buildAndRun runs the pipeline program in pkg with args through `go run`, whose cache of built
// programs makes repeated compiles of an unchanged pipeline fast.
func buildAndRun(ctx context.Context, pkg string, args []string, stdout, stderr io.Writer) error {
	run := exec.CommandContext(ctx, "go", append([]string{"run", pkg}, args...)...)
	run.Stdout, run.Stderr = stdout, stderr
	if err := run.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("%s %s: exit status %d", pkg, args[0], exit.ExitCode())
		}
		return fmt.Errorf("go run %s: %w", pkg, err)
	}
	return nil
}
