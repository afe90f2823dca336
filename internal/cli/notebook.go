package cli

import (
	"github.com/spf13/cobra"

	notebookcli "github.com/kilnml/kiln/notebooks/cli"
)

func init() {
	extraCommands = append(extraCommands, func() *cobra.Command {
		return notebookcli.NewCommand(notebookcli.Options{})
	})
}
