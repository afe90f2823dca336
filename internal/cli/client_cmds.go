package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/client"
)

func init() {
	extraCommands = append(extraCommands, pipelineCommand, runCommand, experimentCommand, metricsCommand)
}

// clientFlags are the connection and output flags of every client command.
type clientFlags struct {
	server, token, namespace, output string
}

func (f *clientFlags) add(cmd *cobra.Command) {
	def := os.Getenv("KILN_SERVER")
	if def == "" {
		def = "http://127.0.0.1:8080"
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.server, "server", def, "Kiln server URL (env KILN_SERVER)")
	pf.StringVar(&f.token, "token", os.Getenv("KILN_TOKEN"), "bearer token (env KILN_TOKEN)")
	pf.StringVarP(&f.namespace, "namespace", "n", os.Getenv("KILN_NAMESPACE"), "namespace (env KILN_NAMESPACE; default: the server's)")
	pf.StringVarP(&f.output, "output", "o", "table", "output format: table, json or yaml")
}

func (f *clientFlags) client() *client.Client {
	return client.New(f.server, client.Options{Token: f.token, Namespace: f.namespace})
}

// print writes v as JSON or YAML, or calls table for the table format.
func (f *clientFlags) print(w io.Writer, v any, table func(tw *tabwriter.Writer)) error {
	switch f.output {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	case "table", "":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		table(tw)
		return tw.Flush()
	}
	return fmt.Errorf("-o %q: want table, json or yaml", f.output)
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return time.Since(t).Round(time.Second).String()
}

func pipelineCommand() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "pipeline", Short: "Upload and inspect pipelines on a Kiln server"}
	f.add(cmd)
	var name, version, desc string
	var fromPackage bool
	upload := &cobra.Command{
		Use:   "upload FILE | --from-package PACKAGE",
		Short: "Upload compiled pipeline YAML (or compile a pipeline program first); with --version, add a version to an existing pipeline",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var spec []byte
			var err error
			if fromPackage {
				// Register from the DSL: compile the pipeline program, upload what it prints.
				var buf strings.Builder
				if err := buildAndRun(cmd.Context(), args[0], []string{"compile"}, &buf, cmd.ErrOrStderr()); err != nil {
					return err
				}
				spec = []byte(buf.String())
			} else if spec, err = os.ReadFile(args[0]); err != nil {
				return err
			}
			if name == "" {
				name = strings.TrimSuffix(filepath.Base(args[0]), filepath.Ext(args[0]))
			}
			c, ctx := f.client(), cmd.Context()
			req := api.CreatePipelineRequest{Name: name, Description: desc, VersionName: version, Spec: string(spec)}
			out, err := c.CreatePipeline(ctx, req)
			if client.StatusCode(err) == http.StatusConflict && version != "" {
				p, gerr := c.GetPipeline(ctx, name)
				if gerr != nil {
					return gerr
				}
				v, verr := c.CreatePipelineVersion(ctx, p.ID, req)
				if verr != nil {
					return verr
				}
				out, err = &api.CreatePipelineResponse{Pipeline: *p, Version: *v}, nil
			}
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), out, func(tw *tabwriter.Writer) {
				fmt.Fprintln(tw, "PIPELINE\tPIPELINE ID\tVERSION\tVERSION ID")
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", out.Pipeline.Name, out.Pipeline.ID, out.Version.Name, out.Version.ID)
			})
		},
	}
	upload.Flags().StringVar(&name, "name", "", "pipeline name (default: the file name)")
	upload.Flags().StringVar(&version, "version", "", "version name (default v1 for a new pipeline)")
	upload.Flags().StringVar(&desc, "description", "", "pipeline description")
	upload.Flags().BoolVar(&fromPackage, "from-package", false, "the argument is a Go pipeline program (as for kiln compile) to compile and upload")
	list := &cobra.Command{
		Use: "list", Short: "List pipelines", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := f.client().ListPipelines(cmd.Context(), client.PageOptions{PageSize: 200})
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), out, func(tw *tabwriter.Writer) {
				fmt.Fprintln(tw, "NAME\tID\tAGE\tDESCRIPTION")
				for _, p := range out.Pipelines {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, p.ID, ago(p.CreatedAt), p.Description)
				}
			})
		},
	}
	get := &cobra.Command{
		Use: "get NAME|ID", Short: "Show a pipeline and its versions", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx := f.client(), cmd.Context()
			p, err := c.GetPipeline(ctx, args[0])
			if err != nil {
				return err
			}
			vs, err := c.ListPipelineVersions(ctx, p.ID, client.PageOptions{PageSize: 200})
			if err != nil {
				return err
			}
			out := struct {
				api.Pipeline
				Versions []api.PipelineVersion `json:"versions"`
			}{*p, vs.Versions}
			return f.print(cmd.OutOrStdout(), out, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "Name:\t%s\nID:\t%s\nDescription:\t%s\n\nVERSION\tID\tAGE\tPARAMETERS\n", p.Name, p.ID, p.Description)
				for _, v := range vs.Versions {
					var ps []string
					for _, s := range v.Parameters {
						ps = append(ps, s.Name+":"+s.Type)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.Name, v.ID, ago(v.CreatedAt), strings.Join(ps, ","))
				}
			})
		},
	}
	cmd.AddCommand(upload, list, get)
	return cmd
}

func printRuns(f *clientFlags, w io.Writer, out any, rs []api.Run) error {
	return f.print(w, out, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "ID\tNAME\tPHASE\tAGE\tMESSAGE")
		for _, r := range rs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Name, r.Phase, ago(r.CreatedAt), r.Message)
		}
	})
}

func runCommand() *cobra.Command {
	var f clientFlags
	// "run" is taken by the local runner (internal/runcli, `kiln run FILE.yaml`), so the server
	// group is "runs", like `kiln runs create`.
	cmd := &cobra.Command{Use: "runs", Short: "Create and follow runs on a Kiln server"}
	f.add(cmd)
	var version, pipeline, experiment, name string
	var params []string
	var wait bool
	create := &cobra.Command{
		Use: "create", Short: "Create a run from a pipeline version (--version ID, or --pipeline NAME for its newest)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ctx := f.client(), cmd.Context()
			if version == "" {
				if pipeline == "" {
					return errors.New("set --version or --pipeline")
				}
				p, err := c.GetPipeline(ctx, pipeline)
				if err != nil {
					return err
				}
				vs, err := c.ListPipelineVersions(ctx, p.ID, client.PageOptions{PageSize: 1, OrderBy: "created_at desc"})
				if err != nil {
					return err
				}
				if len(vs.Versions) == 0 {
					return fmt.Errorf("pipeline %q has no versions", pipeline)
				}
				version = vs.Versions[0].ID
			}
			pm := map[string]string{}
			for _, p := range params {
				k, v, ok := strings.Cut(p, "=")
				if !ok {
					return fmt.Errorf("-p %q: want NAME=VALUE", p)
				}
				pm[k] = v
			}
			r, err := c.CreateRun(ctx, api.CreateRunRequest{PipelineVersionID: version, ExperimentID: experiment, Name: name, Parameters: pm})
			if err != nil {
				return err
			}
			if wait {
				if r, err = c.WaitRun(ctx, r.ID, 0); err != nil {
					return err
				}
			}
			if err := printRuns(&f, cmd.OutOrStdout(), r, []api.Run{*r}); err != nil {
				return err
			}
			if wait && r.Phase != "Succeeded" {
				return fmt.Errorf("run %s %s: %s", r.ID, r.Phase, r.Message)
			}
			return nil
		},
	}
	create.Flags().StringVar(&version, "version", "", "pipeline version ID")
	create.Flags().StringVar(&pipeline, "pipeline", "", "pipeline name or ID (its newest version)")
	create.Flags().StringVar(&experiment, "experiment", "", "experiment ID")
	create.Flags().StringVar(&name, "name", "", "run name")
	create.Flags().StringArrayVarP(&params, "param", "p", nil, "pipeline input NAME=VALUE (repeatable)")
	create.Flags().BoolVar(&wait, "wait", false, "wait for the run to finish; fail unless it succeeded")

	var filterExpr, view string
	var experiments []string
	var pageSize int
	list := &cobra.Command{
		Use: "list", Short: "List runs (--filter is a CEL expression)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := f.client().ListRuns(cmd.Context(), client.ListRunsOptions{Filter: filterExpr, View: view, ExperimentIDs: experiments,
				PageOptions: client.PageOptions{PageSize: pageSize}})
			if err != nil {
				return err
			}
			return printRuns(&f, cmd.OutOrStdout(), out, out.Runs)
		},
	}
	list.Flags().StringVar(&filterExpr, "filter", "", `CEL filter, e.g. 'metrics.accuracy > 0.9 && phase == "Succeeded"'`)
	list.Flags().StringVar(&view, "view", "", "active (default), archived or all")
	list.Flags().StringArrayVar(&experiments, "experiment", nil, "experiment ID (repeatable)")
	list.Flags().IntVar(&pageSize, "limit", 50, "page size")

	get := &cobra.Command{
		Use: "get ID", Short: "Show a run with its nodes", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := f.client().GetRun(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), r, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "ID:\t%s\nName:\t%s\nPhase:\t%s\nMessage:\t%s\n\nNODE\tTYPE\tPHASE\tID\n", r.ID, r.Name, r.Phase, r.Message)
				for _, n := range r.Nodes {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n.DisplayName, n.Type, n.Phase, n.ID)
				}
			})
		},
	}
	var follow bool
	logs := &cobra.Command{
		Use: "logs RUN NODE", Short: "Print a node's log (-f streams while it runs)", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			rc, err := f.client().Logs(cmd.Context(), args[0], args[1], follow)
			if err != nil {
				return err
			}
			defer rc.Close()
			_, err = io.Copy(cmd.OutOrStdout(), rc)
			return err
		},
	}
	logs.Flags().BoolVarP(&follow, "follow", "f", false, "stream until the node ends")
	verb := func(use, short string, fn func(c *client.Client, cmd *cobra.Command, id string) (*api.Run, error)) *cobra.Command {
		return &cobra.Command{Use: use + " ID", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				r, err := fn(f.client(), cmd, args[0])
				if err != nil {
					return err
				}
				if err := printRuns(&f, cmd.OutOrStdout(), r, []api.Run{*r}); err != nil {
					return err
				}
				if use == "wait" && r.Phase != "Succeeded" {
					return fmt.Errorf("run %s %s: %s", r.ID, r.Phase, r.Message)
				}
				return nil
			}}
	}
	cancel := verb("cancel", "Cancel an active run", func(c *client.Client, cmd *cobra.Command, id string) (*api.Run, error) {
		return c.CancelRun(cmd.Context(), id)
	})
	retry := verb("retry", "Retry a failed run (only failed and skipped nodes run again)", func(c *client.Client, cmd *cobra.Command, id string) (*api.Run, error) {
		return c.RetryRun(cmd.Context(), id)
	})
	waitCmd := verb("wait", "Wait for a run to finish; fail unless it succeeded", func(c *client.Client, cmd *cobra.Command, id string) (*api.Run, error) {
		return c.WaitRun(cmd.Context(), id, 0)
	})
	cmd.AddCommand(create, list, get, logs, cancel, retry, waitCmd, runArtifactCommand(&f))
	return cmd
}

func experimentCommand() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "experiment", Short: "Manage experiments on a Kiln server"}
	f.add(cmd)
	show := func(cmd *cobra.Command, e *api.Experiment) error {
		return f.print(cmd.OutOrStdout(), e, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "NAME\tID\tARCHIVED\tAGE")
			fmt.Fprintf(tw, "%s\t%s\t%t\t%s\n", e.Name, e.ID, e.Archived, ago(e.CreatedAt))
		})
	}
	var desc string
	create := &cobra.Command{Use: "create NAME", Short: "Create an experiment", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := f.client().CreateExperiment(cmd.Context(), api.CreateExperimentRequest{Name: args[0], Description: desc})
			if err != nil {
				return err
			}
			return show(cmd, e)
		}}
	create.Flags().StringVar(&desc, "description", "", "description")
	var all bool
	list := &cobra.Command{Use: "list", Short: "List experiments", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := f.client().ListExperiments(cmd.Context(), client.PageOptions{PageSize: 200}, all)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), out, func(tw *tabwriter.Writer) {
				fmt.Fprintln(tw, "NAME\tID\tARCHIVED\tAGE")
				for _, e := range out.Experiments {
					fmt.Fprintf(tw, "%s\t%s\t%t\t%s\n", e.Name, e.ID, e.Archived, ago(e.CreatedAt))
				}
			})
		}}
	list.Flags().BoolVar(&all, "all", false, "include archived experiments")
	get := &cobra.Command{Use: "get ID", Short: "Show an experiment", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := f.client().GetExperiment(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return show(cmd, e)
		}}
	archive := func(use string, archived bool) *cobra.Command {
		return &cobra.Command{Use: use + " ID", Short: use + " an experiment", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				e, err := f.client().SetExperimentArchived(cmd.Context(), args[0], archived)
				if err != nil {
					return err
				}
				return show(cmd, e)
			}}
	}
	del := &cobra.Command{Use: "delete ID", Short: "Delete an experiment without runs", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.client().DeleteExperiment(cmd.Context(), args[0])
		}}
	cmd.AddCommand(create, list, get, archive("archive", true), archive("unarchive", false), del)
	return cmd
}

func metricsCommand() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "metrics", Short: "Log and read run metrics on a Kiln server"}
	f.add(cmd)
	var step int64
	logCmd := &cobra.Command{Use: "log RUN KEY=VALUE...", Short: "Log metric points at one step", Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var req api.LogBatchRequest
			for _, kv := range args[1:] {
				k, v, ok := strings.Cut(kv, "=")
				x, err := strconv.ParseFloat(v, 64)
				if !ok || err != nil {
					return fmt.Errorf("%q: want KEY=NUMBER", kv)
				}
				req.Metrics = append(req.Metrics, api.Metric{Key: k, Value: x, Step: step})
			}
			return f.client().LogBatch(cmd.Context(), args[0], req)
		}}
	logCmd.Flags().Int64Var(&step, "step", 0, "step of the points")
	get := &cobra.Command{Use: "get RUN", Short: "Show a run's params, latest metrics and tags", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := f.client().RunData(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), d, func(tw *tabwriter.Writer) {
				fmt.Fprintln(tw, "KIND\tKEY\tVALUE\tSTEP")
				for _, p := range d.Params {
					fmt.Fprintf(tw, "param\t%s\t%s\t\n", p.Key, p.Value)
				}
				for _, m := range d.Metrics {
					fmt.Fprintf(tw, "metric\t%s\t%g\t%d\n", m.Key, m.Value, m.Step)
				}
				for _, t := range d.Tags {
					fmt.Fprintf(tw, "tag\t%s\t%s\t\n", t.Key, t.Value)
				}
			})
		}}
	var maxPoints int
	history := &cobra.Command{Use: "history RUN KEY", Short: "Print a metric's history (--max-points downsamples)", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := f.client()
			var all []api.Metric
			opts := client.MetricHistoryOptions{MaxPoints: maxPoints}
			for {
				h, err := c.MetricHistory(cmd.Context(), args[0], args[1], opts)
				if err != nil {
					return err
				}
				all = append(all, h.Metrics...)
				if h.NextPageToken == "" || maxPoints > 0 {
					break
				}
				opts.PageToken = h.NextPageToken
			}
			return f.print(cmd.OutOrStdout(), api.MetricHistoryResponse{Metrics: all}, func(tw *tabwriter.Writer) {
				fmt.Fprintln(tw, "STEP\tVALUE\tTIME")
				for _, m := range all {
					fmt.Fprintf(tw, "%d\t%g\t%s\n", m.Step, m.Value, time.UnixMilli(m.Timestamp).UTC().Format(time.RFC3339Nano))
				}
			})
		}}
	history.Flags().IntVar(&maxPoints, "max-points", 0, "downsample to at most this many points")
	cmd.AddCommand(logCmd, get, history)
	return cmd
}
