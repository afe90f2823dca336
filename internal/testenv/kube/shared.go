package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"
)

var shared struct {
	once sync.Once
	env  *Env
	err  error
}

// Skip ends tb when err says the binaries are missing: a skip naming the
// build command locally, a failure when CI=true. Any other non-nil error
// fails tb. A nil err does nothing.
func Skip(tb testing.TB, err error) {
	tb.Helper()
	switch {
	case err == nil:
	case errors.Is(err, ErrBinariesMissing) && os.Getenv("CI") != "true":
		tb.Skipf("skipping: %v", err)
	default:
		tb.Fatal(err)
	}
}

// Shared returns the test binary's shared control plane, started on first
// use with Argo's CRDs installed. Without binaries it skips tb (fails it when
// CI=true). Tests must not Stop or Restart it; Main stops it.
func Shared(tb testing.TB) *Env {
	tb.Helper()
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		opts := Options{}
		if testing.Verbose() {
			opts.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		}
		env, err := Start(ctx, opts)
		if err != nil {
			shared.err = err
			return
		}
		if err := env.InstallArgoCRDs(ctx); err != nil {
			env.Stop()
			shared.err = err
			return
		}
		shared.env = env
	})
	Skip(tb, shared.err)
	return shared.env
}

// StartT starts a private control plane for one test and stops it when the
// test ends; with crds, Argo's CRDs are installed. It skips or fails tb like
// Shared.
func StartT(tb testing.TB, crds bool) *Env {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	env, err := Start(ctx, Options{})
	Skip(tb, err)
	tb.Cleanup(env.Stop)
	if crds {
		if err := env.InstallArgoCRDs(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	return env
}

// Main runs the tests of m and then stops the shared control plane, if one
// was started. Use it from TestMain: os.Exit(kube.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared.env != nil {
		shared.env.Stop()
	}
	return code
}

// String describes the environment for test logs.
func (e *Env) String() string {
	return fmt.Sprintf("kube env %s (dir %s)", e.Config.Host, e.Dir)
}
