package register

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/kilnml/kiln/components/data"
	"github.com/kilnml/kiln/dsl"
	"github.com/kilnml/kiln/tracking"
)

// In is the input of Register.
type In struct {
	// Model is the kiln.model/v1 artifact to register.
	Model dsl.Value[dsl.Model] `description:"model artifact to register"`
	// Metrics are the model's evaluation metrics (such as evaluate's values output).
	Metrics dsl.Value[map[string]float64] `description:"evaluation metrics of the model"`
	// Name is the registered model's name (a DNS-1123 label).
	Name dsl.Value[string] `description:"registered model name"`
	// Alias is moved to the new version when it beats the alias's current version.
	Alias dsl.Value[string] `default:"production" description:"alias to move when the new version is better"`
	// Metric is the metric compared; Direction says whether larger is better.
	Metric dsl.Value[string] `default:"accuracy" description:"metric deciding the alias"`
	// Direction is maximize or minimize.
	Direction dsl.Value[string] `default:"maximize" description:"maximize or minimize the metric"`
	// Registry is the FileRegistry directory.
	Registry dsl.Value[string] `description:"model registry directory"`
	// Metadata is recorded with the version.
	Metadata dsl.Value[map[string]string] `default:"{}" description:"free-form version metadata"`
}

// Out is the output of Register.
type Out struct {
	// Version is the new version's number.
	Version dsl.Value[int]
	// Promoted says whether the alias now points at the new version.
	Promoted dsl.Value[bool]
	// Previous is the version the alias pointed at before (0 if none).
	Previous dsl.Value[int]
	// URI locates the registered model artifact.
	URI dsl.Value[string] `kiln:"uri"`
	// ServerVersion is the version in the Kiln server's registry (0 without a server).
	ServerVersion dsl.Value[int] `description:"version in the Kiln server's registry (0: no server)"`
	// Record is the Decision as JSON.
	Record dsl.Value[dsl.Artifact] `description:"registration record and alias decision (JSON)"`
}

// Decision is the record Register writes.
type Decision struct {
	// Version is the registered version.
	Version Version `json:"version"`
	// Alias is the alias considered.
	Alias string `json:"alias"`
	// Previous is the version the alias pointed at, if any.
	Previous *Version `json:"previous,omitempty"`
	// Promoted says whether the alias moved to Version.
	Promoted bool `json:"promoted"`
	// Reason explains the decision.
	Reason string `json:"reason"`
}

// Register adds a model version to the file registry and moves the alias when it is better.
// When the run has a Kiln server (KILN_API_URL), the version and the alias decision are
// mirrored in the server's model registry (APIRegistry).
var Register = dsl.Func("register-model", registerModel)

func registerModel(ctx context.Context, in In) (Out, error) {
	dir := in.Registry.Get()
	if !filepath.IsAbs(dir) {
		wd, err := os.Getwd()
		if err != nil {
			return Out{}, fmt.Errorf("register: %w", err)
		}
		dir = filepath.Join(wd, dir)
	}
	d, err := RegisterAndPromote(ctx, FileRegistry{Dir: dir}, in.Name.Get(), in.Model.Get().Path, in.Metrics.Get(), in.Metadata.Get(), in.Alias.Get(), in.Metric.Get(), in.Direction.Get())
	if err != nil {
		return Out{}, err
	}
	serverVersion := 0
	if base := os.Getenv(tracking.EnvAPIURL); base != "" {
		// Mirror the version and the alias decision in the Kiln server's registry; the file
		// registry stays the source local serving reads, so a failure here is only logged.
		reg := APIRegistry{URL: base, Token: os.Getenv(tracking.EnvToken), Namespace: os.Getenv(tracking.EnvNamespace), RunID: os.Getenv(tracking.EnvRunID)}
		sd, err := RegisterAndPromote(ctx, reg, in.Name.Get(), d.Version.URI, in.Metrics.Get(), in.Metadata.Get(), in.Alias.Get(), in.Metric.Get(), in.Direction.Get())
		if err != nil {
			slog.New(slog.NewTextHandler(os.Stderr, nil)).Warn("server registry", "model", in.Name.Get(), "err", err)
		} else {
			serverVersion = sd.Version.Version
		}
	}
	path, err := data.WriteJSON("kiln-register-", "decision.json", d)
	if err != nil {
		return Out{}, fmt.Errorf("register: %w", err)
	}
	prev := 0
	if d.Previous != nil {
		prev = d.Previous.Version
	}
	return Out{
		Version: dsl.Of(d.Version.Version), Promoted: dsl.Of(d.Promoted), Previous: dsl.Of(prev),
		URI: dsl.Of(d.Version.URI), Record: dsl.Of(dsl.Artifact{Path: path}), ServerVersion: dsl.Of(serverVersion),
	}, nil
}

// Better reports whether a beats b on a metric in direction ("maximize" or "minimize").
func Better(a, b float64, direction string) (bool, error) {
	switch direction {
	case "maximize":
		return a > b, nil
	case "minimize":
		return a < b, nil
	}
	return false, fmt.Errorf("register: direction %q is neither maximize nor minimize", direction)
}

// RegisterAndPromote registers the model at path as a new version of name, then points alias
// at it if the alias is unset, or its current version lacks the metric, or the new version is
// strictly better on metric.
func RegisterAndPromote(ctx context.Context, r Registry, name, path string, metrics map[string]float64, metadata map[string]string, alias, metric, direction string) (Decision, error) {
	if _, err := Better(0, 0, direction); err != nil {
		return Decision{}, err
	}
	score, ok := metrics[metric]
	if !ok {
		return Decision{}, fmt.Errorf("register %s: the model has no metric %q", name, metric)
	}
	v, err := r.Register(ctx, name, path, metrics, metadata)
	if err != nil {
		return Decision{}, err
	}
	d := Decision{Version: v, Alias: alias}
	cur, err := r.Alias(ctx, name, alias)
	switch {
	case errors.Is(err, ErrNoAlias):
		d.Promoted, d.Reason = true, fmt.Sprintf("%s was not set", alias)
	case err != nil:
		return Decision{}, err
	default:
		d.Previous = &cur
		old, has := cur.Metrics[metric]
		better, _ := Better(score, old, direction)
		switch {
		case !has:
			d.Promoted, d.Reason = true, fmt.Sprintf("version %d has no %s", cur.Version, metric)
		case better:
			d.Promoted, d.Reason = true, fmt.Sprintf("%s %.6g beats %.6g of version %d", metric, score, old, cur.Version)
		default:
			d.Reason = fmt.Sprintf("%s %.6g does not beat %.6g of version %d", metric, score, old, cur.Version)
		}
	}
	if d.Promoted {
		if err := r.SetAlias(ctx, name, alias, v.Version); err != nil {
			return Decision{}, err
		}
	}
	return d, nil
}
