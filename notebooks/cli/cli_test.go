package cli_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/spf13/cobra"

	"github.com/kilnml/kiln/notebooks"
	"github.com/kilnml/kiln/notebooks/cli"
	"github.com/kilnml/kiln/notebooks/local"
)

// TestScripts runs testdata/*.txtar against a backend with the local spawner and real Jupyter:
// the scripts read like a user's shell session.
func TestScripts(t *testing.T) {
	_, err1 := exec.LookPath("jupyter")
	_, err2 := exec.LookPath("jupyter-notebook")
	if err1 != nil || err2 != nil {
		msg := "jupyter notebook not found: install Debian's jupyter-notebook (apt-get install jupyter-notebook)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			dir := env.WorkDir
			sp, err := local.New(context.Background(), local.Options{Dir: filepath.Join(dir, ".kiln", "notebooks"), StopGrace: 3 * time.Second})
			if err != nil {
				return err
			}
			repo, err := notebooks.NewFileRepository(filepath.Join(dir, ".kiln", "records"))
			if err != nil {
				return err
			}
			mgr, err := notebooks.NewManager(notebooks.Options{Repository: repo, Spawner: sp})
			if err != nil {
				return err
			}
			srv := httptest.NewServer(mgr.Handler(notebooks.AuthorizerFunc(authorize)))
			env.Setenv("KILN_API_URL", srv.URL)
			env.Defer(func() {
				srv.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := sp.Close(ctx); err != nil {
					env.T().Fatal(err)
				}
			})
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){"kiln": kiln},
	})
}

// authorize gives alice team-a and nobody else anything.
func authorize(r *http.Request, ns string) (string, error) {
	if r.Header.Get("Authorization") != "Bearer alice" {
		return "", notebooks.ErrUnauthenticated
	}
	if ns != "team-a" {
		return "", fmt.Errorf("alice may not use %s: %w", ns, notebooks.ErrForbidden)
	}
	return "alice", nil
}

// kiln runs the notebook command in-process, with the script's environment.
func kiln(ts *testscript.TestScript, neg bool, args []string) {
	root := &cobra.Command{Use: "kiln", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(cli.NewCommand(cli.Options{
		Getenv:       ts.Getenv,
		PollInterval: 200 * time.Millisecond,
		OpenBrowser:  func(u string) error { return fmt.Errorf("no browser in tests (%s)", u) },
	}))
	root.SetArgs(args)
	root.SetOut(ts.Stdout())
	root.SetErr(ts.Stderr())
	err := root.Execute()
	if err != nil {
		fmt.Fprintln(ts.Stderr(), "Error:", strings.TrimSpace(err.Error()))
	}
	if (err != nil) != neg {
		ts.Fatalf("kiln %s: unexpected result: %v", strings.Join(args, " "), err)
	}
}
