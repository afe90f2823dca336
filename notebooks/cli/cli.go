// Package cli provides `kiln notebook`: create, list, get, stop, start, delete and open notebooks
// through a Kiln backend. The kiln binary mounts it with root.AddCommand(cli.NewCommand(opts)).
package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kilnml/kiln/notebooks"
	"github.com/kilnml/kiln/notebooks/client"
)

// Options configure the notebook command.
type Options struct {
	// Connect returns the client and namespace to use. Nil means the command's own persistent flags
	// --server, --token and --namespace, defaulting to $KILN_API_URL (else http://127.0.0.1:8080),
	// $KILN_TOKEN and $KILN_NAMESPACE (else "default").
	Connect func(cmd *cobra.Command) (*client.Client, string, error)
	// Getenv reads the flag defaults' environment; nil means os.Getenv.
	Getenv func(string) string
	// OpenBrowser opens a URL; nil runs xdg-open (open on macOS).
	OpenBrowser func(url string) error
	// PollInterval is how often --wait and open poll the status; zero means one second.
	PollInterval time.Duration
}

// NewCommand returns the `notebook` command and its subcommands.
func NewCommand(opts Options) *cobra.Command {
	c := &commands{opts: opts}
	root := &cobra.Command{
		Use:     "notebook",
		Aliases: []string{"notebooks", "nb"},
		Short:   "Manage Jupyter notebook servers",
		Long: "Create, list, stop, start, delete and open Jupyter notebook servers run by Kiln.\n" +
			"Notebooks are reached through Kiln at /notebook/<namespace>/<name>/; stopped notebooks keep their workspace.",
		SilenceUsage: true,
	}
	if opts.Connect == nil {
		getenv := opts.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		pf := root.PersistentFlags()
		pf.StringVar(&c.server, "server", cmp.Or(getenv(notebooks.EnvAPIURL), "http://127.0.0.1:8080"), "Kiln backend URL ($"+notebooks.EnvAPIURL+")")
		pf.StringVar(&c.token, "token", getenv("KILN_TOKEN"), "bearer token ($KILN_TOKEN)")
		pf.StringVarP(&c.namespace, "namespace", "n", cmp.Or(getenv(notebooks.EnvNamespace), "default"), "namespace ($"+notebooks.EnvNamespace+")")
	}
	root.AddCommand(c.create(), c.list(), c.get(), c.stop(), c.start(), c.delete(), c.open(), c.logs())
	return root
}

type commands struct {
	opts                     Options
	server, token, namespace string
}

func (c *commands) connect(cmd *cobra.Command) (*client.Client, string, error) {
	if c.opts.Connect != nil {
		return c.opts.Connect(cmd)
	}
	cl, err := client.New(c.server, c.token, nil)
	return cl, c.namespace, err
}

// notebookCommand returns a subcommand that acts on the notebook named by its one argument,
// connecting first.
func (c *commands) notebookCommand(use, short string, run func(cmd *cobra.Command, cl *client.Client, ns, name string) error) *cobra.Command {
	return &cobra.Command{
		Use:   use + " NAME",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, ns, err := c.connect(cmd)
			if err != nil {
				return err
			}
			return run(cmd, cl, ns, args[0])
		},
	}
}

func (c *commands) create() *cobra.Command {
	var (
		spec                notebooks.Spec
		env, volumes        []string
		idle, workspaceSize string
		wait                bool
		timeout             time.Duration
	)
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a notebook and start it",
		Example: "  kiln notebook create explore --cpu 2 --memory 4Gi --idle-timeout 30m\n" +
			"  kiln notebook create train --image quay.io/jupyter/pytorch-notebook --gpu 1 --volume data=datasets:/data:ro",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, ns, err := c.connect(cmd)
			if err != nil {
				return err
			}
			for _, kv := range env {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("--env %q: want NAME=VALUE", kv)
				}
				spec.Env = append(spec.Env, notebooks.EnvVar{Name: k, Value: v})
			}
			for _, v := range volumes {
				dv, err := parseVolume(v)
				if err != nil {
					return err
				}
				spec.DataVolumes = append(spec.DataVolumes, dv)
			}
			if idle != "" {
				d, err := time.ParseDuration(idle)
				if err != nil {
					return fmt.Errorf("--idle-timeout: %w", err)
				}
				spec.IdleTimeout = &notebooks.Duration{Duration: d}
			}
			spec.Workspace.Size = workspaceSize
			nb, err := cl.Create(cmd.Context(), ns, notebooks.CreateRequest{Name: args[0], Spec: spec})
			if err != nil {
				return err
			}
			if wait {
				if nb, err = c.waitRunning(cmd.Context(), cl, ns, args[0], timeout); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "notebook %s/%s created (%s)\n", ns, nb.Name, nb.Status.Phase)
			if nb.Status.URL != "" {
				fmt.Fprintln(cmd.OutOrStdout(), cl.BrowserURL(nb.Status.URL))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&spec.Image, "image", "", "container image (Kubernetes); empty runs the default")
	f.StringVar(&spec.Resources.CPU, "cpu", "", "CPU request, e.g. 500m or 2")
	f.StringVar(&spec.Resources.Memory, "memory", "", "memory request, e.g. 4Gi")
	f.IntVar(&spec.Resources.GPU, "gpu", 0, "number of GPUs")
	f.StringVar(&workspaceSize, "workspace-size", "", "workspace volume size, e.g. 20Gi")
	f.StringVar(&idle, "idle-timeout", "", "stop after this long idle, e.g. 30m (0 never; empty: server default)")
	f.StringArrayVar(&env, "env", nil, "environment variable NAME=VALUE (repeatable)")
	f.StringArrayVar(&volumes, "volume", nil, "data volume NAME=CLAIM|/host/path[:MOUNTPATH][:ro] (repeatable)")
	f.BoolVar(&wait, "wait", false, "wait until the server runs")
	f.DurationVar(&timeout, "timeout", 5*time.Minute, "how long --wait waits")
	return cmd
}

// parseVolume reads NAME=SOURCE[:MOUNTPATH][:ro]; a SOURCE starting with / is a host path.
func parseVolume(s string) (notebooks.DataVolume, error) {
	name, rest, ok := strings.Cut(s, "=")
	if !ok || name == "" || rest == "" {
		return notebooks.DataVolume{}, fmt.Errorf("--volume %q: want NAME=CLAIM|/host/path[:MOUNTPATH][:ro]", s)
	}
	parts := strings.Split(rest, ":")
	dv := notebooks.DataVolume{Name: name}
	if strings.HasPrefix(parts[0], "/") {
		dv.Path = parts[0]
	} else {
		dv.ClaimName = parts[0]
	}
	for _, p := range parts[1:] {
		switch {
		case p == "ro":
			dv.ReadOnly = true
		case dv.MountPath == "":
			dv.MountPath = p
		default:
			return notebooks.DataVolume{}, fmt.Errorf("--volume %q: unexpected %q", s, p)
		}
	}
	return dv, nil
}

func (c *commands) list() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the notebooks of the namespace",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, ns, err := c.connect(cmd)
			if err != nil {
				return err
			}
			nbs, err := cl.List(cmd.Context(), ns)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tPHASE\tOWNER\tLAST ACTIVITY\tURL")
			for _, nb := range nbs {
				last := "-"
				if !nb.Status.LastActivity.IsZero() {
					last = nb.Status.LastActivity.Local().Format(time.DateTime)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", nb.Name, nb.Status.Phase, cmp.Or(nb.Owner, "-"), last, cmp.Or(nb.Status.URL, "-"))
			}
			return tw.Flush()
		},
	}
}

func (c *commands) get() *cobra.Command {
	var output string
	cmd := c.notebookCommand("get", "Show a notebook's status and events", func(cmd *cobra.Command, cl *client.Client, ns, name string) error {
		nb, err := cl.Get(cmd.Context(), ns, name)
		if err != nil {
			return err
		}
		if output == "json" {
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(nb)
		}
		describe(cmd.OutOrStdout(), cl, nb)
		return nil
	})
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json")
	return cmd
}

func describe(w io.Writer, cl *client.Client, nb *notebooks.Notebook) {
	fmt.Fprintf(w, "Name:       %s/%s\nOwner:      %s\nPhase:      %s\n", nb.Namespace, nb.Name, cmp.Or(nb.Owner, "-"), nb.Status.Phase)
	if nb.Status.Message != "" {
		fmt.Fprintf(w, "Message:    %s\n", nb.Status.Message)
	}
	if nb.Status.URL != "" {
		fmt.Fprintf(w, "URL:        %s\n", cl.BrowserURL(nb.Status.URL))
	}
	if !nb.Status.LastActivity.IsZero() {
		fmt.Fprintf(w, "Activity:   %s\n", nb.Status.LastActivity.Local().Format(time.DateTime))
	}
	if len(nb.Status.Events) > 0 {
		fmt.Fprintln(w, "Events:")
		for _, ev := range nb.Status.Events {
			fmt.Fprintf(w, "  %s  %-7s  %-12s  %s\n", ev.Time.Local().Format(time.DateTime), ev.Type, ev.Reason, ev.Message)
		}
	}
}

func (c *commands) stop() *cobra.Command {
	return c.notebookCommand("stop", "Stop a notebook's server, keeping its workspace", func(cmd *cobra.Command, cl *client.Client, ns, name string) error {
		if _, err := cl.Stop(cmd.Context(), ns, name); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "notebook %s/%s stopped\n", ns, name)
		return nil
	})
}

func (c *commands) start() *cobra.Command {
	var wait bool
	var timeout time.Duration
	cmd := c.notebookCommand("start", "Start a stopped notebook with its workspace", func(cmd *cobra.Command, cl *client.Client, ns, name string) error {
		nb, err := cl.Start(cmd.Context(), ns, name)
		if err != nil {
			return err
		}
		if wait {
			if nb, err = c.waitRunning(cmd.Context(), cl, ns, name, timeout); err != nil {
				return err
			}
		}
		fmt.Fprintf(cmd.OutOrStdout(), "notebook %s/%s started (%s)\n", ns, name, nb.Status.Phase)
		return nil
	})
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the server runs")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long --wait waits")
	return cmd
}

func (c *commands) delete() *cobra.Command {
	return c.notebookCommand("delete", "Delete a notebook and its workspace", func(cmd *cobra.Command, cl *client.Client, ns, name string) error {
		if err := cl.Delete(cmd.Context(), ns, name); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "notebook %s/%s deleted\n", ns, name)
		return nil
	})
}

func (c *commands) logs() *cobra.Command {
	var tail int
	cmd := c.notebookCommand("logs", "Print the end of a notebook server's log", func(cmd *cobra.Command, cl *client.Client, ns, name string) error {
		b, err := cl.Logs(cmd.Context(), ns, name, tail)
		if err != nil {
			return err
		}
		_, err = cmd.OutOrStdout().Write(b)
		return err
	})
	cmd.Flags().IntVar(&tail, "tail", 200, "number of lines")
	return cmd
}

func (c *commands) open() *cobra.Command {
	var noBrowser bool
	var timeout time.Duration
	cmd := c.notebookCommand("open", "Open a notebook in the browser, starting it if it is stopped", func(cmd *cobra.Command, cl *client.Client, ns, name string) error {
		nb, err := cl.Get(cmd.Context(), ns, name)
		if err != nil {
			return err
		}
		if nb.Stopped {
			fmt.Fprintf(cmd.ErrOrStderr(), "starting notebook %s/%s\n", ns, name)
			if _, err := cl.Start(cmd.Context(), ns, name); err != nil {
				return err
			}
		}
		if nb, err = c.waitRunning(cmd.Context(), cl, ns, name, timeout); err != nil {
			return err
		}
		u := cl.BrowserURL(nb.Status.URL)
		fmt.Fprintln(cmd.OutOrStdout(), u)
		if noBrowser {
			return nil
		}
		return c.openBrowser(u)
	})
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "print the URL only")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the server")
	return cmd
}

func (c *commands) openBrowser(u string) error {
	if c.opts.OpenBrowser != nil {
		return c.opts.OpenBrowser(u)
	}
	name := "xdg-open"
	if runtime.GOOS == "darwin" {
		name = "open"
	}
	if err := exec.Command(name, u).Start(); err != nil {
		return fmt.Errorf("open browser (use --no-browser to print the URL only): %w", err)
	}
	return nil
}

// errFailed marks a notebook that reached PhaseFailed while we waited.
var errFailed = errors.New("notebook failed")

func (c *commands) waitRunning(ctx context.Context, cl *client.Client, ns, name string, timeout time.Duration) (*notebooks.Notebook, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	interval := cmp.Or(c.opts.PollInterval, time.Second)
	for {
		nb, err := cl.Get(ctx, ns, name)
		if err != nil {
			return nil, err
		}
		switch nb.Status.Phase {
		case notebooks.PhaseRunning:
			return nb, nil
		case notebooks.PhaseFailed:
			return nil, fmt.Errorf("notebook %s/%s: %w: %s", ns, name, errFailed, nb.Status.Message)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("notebook %s/%s is still %s after %s: %s", ns, name, nb.Status.Phase, timeout, nb.Status.Message)
		case <-time.After(interval):
		}
	}
}
