package cli

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kilnml/kiln/backend/client"
)

// runArtifactCommand is `kiln runs artifact RUN NODE NAME`: it downloads a node's output
// artifact to stdout or --out FILE; a directory or multi-file archive is listed (-o table, json
// or yaml) unless --entry picks one of its files.
func runArtifactCommand(f *clientFlags) *cobra.Command {
	var opts client.ArtifactOptions
	var out string
	cmd := &cobra.Command{
		Use:   "artifact RUN NODE NAME",
		Short: "Download a node's output artifact (NODE: ID, name or display name); list a directory or archive",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := f.client().RunArtifact(cmd.Context(), args[0], args[1], args[2], opts)
			if err != nil {
				return err
			}
			defer d.Close()
			if d.Kind != "file" {
				l, err := d.Listing()
				if err != nil {
					return err
				}
				return f.print(cmd.OutOrStdout(), l, func(tw *tabwriter.Writer) {
					fmt.Fprintln(tw, "PATH\tSIZE")
					for _, e := range l.Entries {
						fmt.Fprintf(tw, "%s\t%d\n", e.Path, e.Size)
					}
					if l.Truncated {
						fmt.Fprintln(tw, "…\t(more entries not listed)")
					}
				})
			}
			if err := writeDownload(cmd.OutOrStdout(), out, d); err != nil {
				return fmt.Errorf("download artifact %s: %w", args[2], err)
			}
			if d.Truncated {
				fmt.Fprintf(cmd.ErrOrStderr(), "artifact %s: first %d of %d bytes\n", args[2], opts.MaxBytes, d.Size)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&out, "out", "O", "", "write the file here instead of stdout")
	fl.StringVar(&opts.Entry, "entry", "", "a file inside a directory or archive artifact")
	fl.Int64Var(&opts.MaxBytes, "max-bytes", 0, "download at most this many bytes (a preview)")
	fl.BoolVar(&opts.Raw, "raw", false, "the stored object as is: a .tgz archive is not opened")
	return cmd
}

// writeDownload copies r to the file out, or to stdout when out is "" or "-".
func writeDownload(stdout io.Writer, out string, r io.Reader) error {
	if out == "" || out == "-" {
		_, err := io.Copy(stdout, r)
		return err
	}
	fh, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(fh, r); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}
