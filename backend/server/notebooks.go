package server

import (
	"context"
	"net/http"
	"path/filepath"

	"github.com/kilnml/kiln/notebooks"
	nblocal "github.com/kilnml/kiln/notebooks/local"
)

// mountNotebooks serves /api/v1/notebooks/… and /notebook/… with the local Jupyter spawner and
// a file repository under DataDir/notebooks; it returns the manager's reconcile-and-cull loop.
func (s *Server) mountNotebooks(ctx context.Context, mux *http.ServeMux) (func(), error) {
	dir := filepath.Join(s.cfg.DataDir, "notebooks")
	sp, err := nblocal.New(ctx, nblocal.Options{Dir: filepath.Join(dir, "servers"), Logger: s.log.With("component", "notebooks")})
	if err != nil {
		return nil, err
	}
	repo, err := notebooks.NewFileRepository(filepath.Join(dir, "records"))
	if err != nil {
		return nil, err
	}
	mgr, err := notebooks.NewManager(notebooks.Options{Repository: repo, Spawner: sp, Logger: s.log.With("component", "notebooks"), APIURL: s.cfg.APIURL})
	if err != nil {
		return nil, err
	}
	mgr.Register(mux, notebooks.AuthorizerFunc(func(r *http.Request, ns string) (string, error) {
		return s.api.Authorize(r, ns, r.Method != http.MethodGet)
	}))
	return func() { _ = mgr.Run(ctx) }, nil
}
