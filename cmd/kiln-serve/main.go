// Command kiln-serve serves kiln.model/v1 models over the Open Inference Protocol v2.
//
//	kiln-serve -addr 127.0.0.1:8081 -registry .kiln/registry -model breast-cancer@production
//	kiln-serve -model iris=/path/to/model.json
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/kilnml/kiln/serving"
)

type config struct {
	addr     string
	registry string
	models   []string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:8081", "listen address")
	flag.StringVar(&cfg.registry, "registry", "", "model registry directory (for NAME@ALIAS)")
	flag.Func("model", "model to serve: NAME=PATH or NAME@ALIAS (repeatable)", func(s string) error {
		cfg.models = append(cfg.models, s)
		return nil
	})
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		fmt.Fprintln(os.Stderr, "kiln-serve:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, log *slog.Logger) error {
	if len(cfg.models) == 0 {
		return errors.New("no model: pass -model NAME=PATH or -model NAME@ALIAS")
	}
	var models []serving.Model
	for _, spec := range cfg.models {
		m, err := serving.LoadSpec(ctx, spec, cfg.registry)
		if err != nil {
			return err
		}
		models = append(models, m)
	}
	srv, err := serving.New(log, models...)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	log.Info("serving", "addr", "http://"+ln.Addr().String(), "models", strings.Join(srv.Names(), ","))
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return hs.Shutdown(sctx)
	}
}
