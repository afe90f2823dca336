package serving

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kilnml/kiln/artifactstore"
	"github.com/kilnml/kiln/components/ml/model"
	"github.com/kilnml/kiln/components/register"
)

// LoadSpec loads a model given as "NAME=LOCATION" (a file path, or a file://, s3:// or gs://
// URI) or "NAME@ALIAS" (the version ALIAS points at in the file registry reg; reg may be empty
// for the first form).
func LoadSpec(ctx context.Context, spec, reg string) (Model, error) {
	if name, loc, ok := strings.Cut(spec, "="); ok {
		return LoadURI(ctx, name, "", loc)
	}
	name, alias, ok := strings.Cut(spec, "@")
	if !ok || name == "" || alias == "" {
		return Model{}, fmt.Errorf("model %q: want NAME=PATH or NAME@ALIAS", spec)
	}
	if reg == "" {
		return Model{}, fmt.Errorf("model %q: NAME@ALIAS needs a registry directory", spec)
	}
	v, err := register.FileRegistry{Dir: reg}.Alias(ctx, name, alias)
	if err != nil {
		return Model{}, fmt.Errorf("model %q: %w", spec, err)
	}
	return LoadURI(ctx, name, strconv.Itoa(v.Version), v.URI)
}

// LoadURI loads the model at loc: a local file path, or a file://, s3:// or gs:// URI read
// through package artifactstore with the environment's cloud credentials (an S3-compatible
// server such as MinIO is reached with ?endpoint=…&use_path_style=true). A .tgz archive, as
// Argo stores output artifacts, must hold exactly one file: the model.
func LoadURI(ctx context.Context, name, version, loc string) (Model, error) {
	scheme, _, hasScheme := strings.Cut(loc, "://")
	if !hasScheme || strings.ContainsAny(scheme, "/\\") {
		return LoadFile(ctx, name, version, loc)
	}
	// The operator chose the model's location: any local file and bucket parameters are fine.
	st, err := artifactstore.New(ctx, artifactstore.Options{FileRoots: []string{"/"}, TrustURIs: true})
	if err != nil {
		return Model{}, fmt.Errorf("serve %s: %w", name, err)
	}
	defer st.Close()
	m, err := loadFromStore(ctx, st, loc)
	if err != nil {
		return Model{}, fmt.Errorf("serve %s: %w", name, err)
	}
	return Model{Name: name, Version: version, Model: m}, nil
}

func loadFromStore(ctx context.Context, st *artifactstore.Store, uri string) (*model.Model, error) {
	rc, _, err := st.Open(ctx, uri)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	_, key, _ := st.Resolve(uri)
	if !artifactstore.IsArchive(key) {
		m, err := model.Load(rc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", uri, err)
		}
		return m, nil
	}
	entries, _, err := artifactstore.TarEntries(rc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", uri, err)
	}
	if len(entries) != 1 {
		return nil, fmt.Errorf("%s: the archive holds %d files, want exactly one model file", uri, len(entries))
	}
	rc2, _, err := st.Open(ctx, uri)
	if err != nil {
		return nil, err
	}
	defer rc2.Close()
	er, _, err := artifactstore.OpenTarEntry(rc2, entries[0].Path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", uri, err)
	}
	m, err := model.Load(io.LimitReader(er, entries[0].Size))
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", uri, entries[0].Path, err)
	}
	return m, nil
}
