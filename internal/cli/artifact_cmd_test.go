package cli

import (
	"context"
	"net"
	"net/http"
	"regexp"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kilnml/kiln/backend/server"
)

// TestArtifactScripts runs the scripts in testdata/artifact, which need a Kiln server: the
// start-server command starts one in this process (embedded defaults under $WORK/data, on a
// free loopback port) and sets KILN_SERVER; capture VAR REGEXP sets VAR from the last stdout.
func TestArtifactScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/artifact",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"start-server": startServerCmd,
			"capture":      captureCmd,
		},
	})
}

func startServerCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: start-server")
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Config{DataDir: ts.MkAbs("data"), SchedulerInterval: -1})
	if err != nil {
		cancel()
		ts.Fatalf("start server: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		ts.Fatalf("listen: %v", err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	ts.Setenv("KILN_SERVER", "http://"+ln.Addr().String())
	ts.Defer(func() {
		hs.Close()
		srv.Close()
		cancel()
	})
}

func captureCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: capture VAR REGEXP")
	}
	re, err := regexp.Compile(args[1])
	if err != nil {
		ts.Fatalf("capture: %v", err)
	}
	m := re.FindStringSubmatch(ts.ReadFile("stdout"))
	if len(m) < 2 {
		ts.Fatalf("capture: %q does not match stdout", args[1])
	}
	ts.Setenv(args[0], m[1])
}
