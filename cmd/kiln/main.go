// Command kiln is Kiln's command line: compile pipelines, run them on this machine, and (with
// a server) manage pipelines, runs, experiments and notebooks.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kilnml/kiln/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
