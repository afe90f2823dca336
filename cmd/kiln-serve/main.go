// Command kiln-serve serves kiln.model/v1 models over the Open Inference Protocol v2.
//
//	kiln-serve -addr 127.0.0.1:8081 -registry .kiln/registry -model breast-cancer@production
//	kiln-serve -model iris=/path/to/model.json
//
// With a Kiln server (-kiln-server, default $KILN_SERVER or $KILN_API_URL), once listening it
// tags the server registry's version behind every NAME@ALIAS model with kiln.dev/endpoint =
// its base URL (-public-url, default http://ADDR), so the portal shows the endpoint's status.
// A NAME=PATH model is tagged too when given as NAME:VERSION=PATH.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kilnml/kiln/components/register"
	"github.com/kilnml/kiln/serving"
	"github.com/kilnml/kiln/tracking"
)

type config struct {
	addr       string
	registry   string
	models     []string
	kilnServer string
	publicURL  string
	// ready, when set, receives the listening server's base URL (tests).
	ready chan<- string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:8081", "listen address")
	flag.StringVar(&cfg.registry, "registry", "", "model registry directory (for NAME@ALIAS)")
	flag.Func("model", "model to serve: NAME=PATH, NAME:VERSION=PATH or NAME@ALIAS (repeatable)", func(s string) error {
		cfg.models = append(cfg.models, s)
		return nil
	})
	flag.StringVar(&cfg.kilnServer, "kiln-server", cmp.Or(os.Getenv("KILN_SERVER"), os.Getenv(tracking.EnvAPIURL)), "Kiln server whose registry versions get the kiln.dev/endpoint tag (empty: none)")
	flag.StringVar(&cfg.publicURL, "public-url", "", "base URL clients reach this server at (default http://ADDR)")
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
		m, err := serving.LoadSpec(ctx, loadSpec(spec), cfg.registry)
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
	base := cmp.Or(cfg.publicURL, "http://"+ln.Addr().String())
	log.Info("serving", "addr", "http://"+ln.Addr().String(), "models", strings.Join(srv.Names(), ","))
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	if cfg.kilnServer != "" {
		tagEndpoints(ctx, log, register.APIRegistry{URL: cfg.kilnServer, Token: os.Getenv(tracking.EnvToken)}, cfg.models, base)
	}
	if cfg.ready != nil {
		cfg.ready <- base
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return hs.Shutdown(sctx)
	}
}

// loadSpec drops the version of a NAME:VERSION=PATH spec, which serving.LoadSpec does not know.
func loadSpec(spec string) string {
	if name, loc, ok := strings.Cut(spec, "="); ok {
		if n, _, ok := strings.Cut(name, ":"); ok {
			return n + "=" + loc
		}
	}
	return spec
}

// tagEndpoints sets kiln.dev/endpoint = base on the server registry's version of each model:
// the version its alias points at for NAME@ALIAS (the server mirrors the file registry's alias
// decisions), the given one for NAME:VERSION=PATH. Failures are logged: serving goes on.
func tagEndpoints(ctx context.Context, log *slog.Logger, reg register.APIRegistry, specs []string, base string) {
	for _, spec := range specs {
		var name string
		var version int
		if n, _, ok := strings.Cut(spec, "="); ok {
			nm, v, ok := strings.Cut(n, ":")
			if !ok {
				continue
			}
			var err error
			if version, err = strconv.Atoi(v); err != nil {
				log.Warn("endpoint tag: bad version", "model", spec, "err", err)
				continue
			}
			name = nm
		} else {
			nm, alias, _ := strings.Cut(spec, "@")
			v, err := reg.Alias(ctx, nm, alias)
			if err != nil {
				log.Warn("endpoint tag: server registry alias", "model", spec, "err", err)
				continue
			}
			name, version = nm, v.Version
		}
		if err := reg.SetEndpoint(ctx, name, version, base); err != nil {
			log.Warn("endpoint tag", "model", name, "version", version, "err", err)
			continue
		}
		log.Info("endpoint tagged", "model", name, "version", version, "url", base)
	}
}
