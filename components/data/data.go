// Package data holds the ready-made data components: Import fetches a CSV or Parquet file from
// a path or URL (anything go-getter accepts) into a Dataset, and Profile summarises a Dataset
// as a small JSON profile (schema and per-column statistics).
//
// Both components keep the file format of their input: a Dataset produced by Import is the
// fetched file itself, so downstream components read it with dataset.ReadFile and the format
// inferred from its name.
package data

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kilnml/kiln/components/ml/dataset"
	"github.com/kilnml/kiln/components/ml/dataset/fetch"
	"github.com/kilnml/kiln/dsl"
)

// ImportIn is the input of Import.
type ImportIn struct {
	// Source is a path or go-getter URL (file://, http(s)://, s3::, git::…//file).
	Source dsl.Value[string] `description:"path or URL of a CSV or Parquet file"`
	// Format is csv or parquet; empty infers it from the source's extension.
	Format dsl.Value[string] `default:"" description:"csv or parquet; empty infers it from the name"`
}

// ImportOut is the output of Import.
type ImportOut struct {
	// Data is the imported file, unchanged.
	Data dsl.Value[dsl.Dataset] `description:"the imported file"`
	// Rows is the number of data rows.
	Rows dsl.Value[int] `description:"number of rows"`
	// Columns lists the column names in order.
	Columns dsl.Value[[]string] `description:"column names"`
}

// Import fetches a data file and checks that it parses.
var Import = dsl.Func("import-dataset", importData)

func importData(ctx context.Context, in ImportIn) (ImportOut, error) {
	dir, err := os.MkdirTemp("", "kiln-import-")
	if err != nil {
		return ImportOut{}, fmt.Errorf("import: %w", err)
	}
	t, path, err := fetch.Import(ctx, in.Source.Get(), dir, dataset.Format(in.Format.Get()), dataset.CSVOptions{})
	if err != nil {
		return ImportOut{}, err
	}
	return ImportOut{
		Data:    dsl.Of(dsl.Dataset{Path: path, Metadata: map[string]any{"source": in.Source.Get(), "rows": t.NumRows()}}),
		Rows:    dsl.Of(t.NumRows()),
		Columns: dsl.Of(t.Names()),
	}, nil
}

// ProfileIn is the input of Profile.
type ProfileIn struct {
	// Data is a CSV or Parquet file.
	Data dsl.Value[dsl.Dataset] `description:"CSV or Parquet file"`
}

// ProfileOut is the output of Profile.
type ProfileOut struct {
	// Profile is a dataset.Profile as JSON.
	Profile dsl.Value[dsl.Artifact] `description:"JSON profile: rows and per-column kind, counts and statistics"`
	// Rows is the number of rows.
	Rows dsl.Value[int]
	// Missing is the number of missing cells over all columns.
	Missing dsl.Value[int] `description:"missing cells over all columns"`
}

// Profile computes a dataset.Profile of a data file.
var Profile = dsl.Func("profile-dataset", profileData)

func profileData(ctx context.Context, in ProfileIn) (ProfileOut, error) {
	t, err := Read(ctx, in.Data.Get())
	if err != nil {
		return ProfileOut{}, err
	}
	p := dataset.NewProfile(t)
	missing := 0
	for _, c := range p.Columns {
		missing += c.Missing
	}
	path, err := WriteJSON("kiln-profile-", "profile.json", p)
	if err != nil {
		return ProfileOut{}, fmt.Errorf("profile: %w", err)
	}
	return ProfileOut{
		Profile: dsl.Of(dsl.Artifact{Path: path}),
		Rows:    dsl.Of(p.Rows),
		Missing: dsl.Of(missing),
	}, nil
}

// Read reads a Dataset artifact, inferring CSV or Parquet from its file name.
func Read(ctx context.Context, d dsl.Dataset) (*dataset.Table, error) {
	t, err := dataset.ReadFile(ctx, d.Path, "", dataset.CSVOptions{})
	if err != nil {
		return nil, fmt.Errorf("read dataset %s: %w", d.Path, err)
	}
	return t, nil
}

// WriteJSON writes v, indented, to a file named name in a new temporary directory whose name
// starts with prefix, and returns the file's path.
func WriteJSON(prefix, name string, v any) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return "", err
	}
	return path, nil
}
