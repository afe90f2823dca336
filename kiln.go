// Package kiln is the entry point of a pipeline program: a Go main package that defines a
// pipeline with the dsl package and hands it to Main.
//
//	func main() { kiln.Main(pipeline) }
//
// The program then compiles the pipeline to Argo YAML (`compile`), runs it on this machine
// (`run`), submits it to a Kiln server (`submit`), and, inside pods, runs its Go-function
// components (a hidden `component` subcommand).
package kiln

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kilnml/kiln/dsl"
	"github.com/kilnml/kiln/internal/program"
)

// Main runs the pipeline program's command line with os.Args and exits.
func Main(p *dsl.Pipeline) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := program.Main(ctx, p, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
