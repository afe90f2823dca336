package serving

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/kilnml/kiln/components/register"
)

// LoadSpec loads a model given as "NAME=PATH" (an artifact file) or "NAME@ALIAS" (the version
// ALIAS points at in the file registry reg; reg may be empty for the first form).
func LoadSpec(ctx context.Context, spec, reg string) (Model, error) {
	if name, path, ok := strings.Cut(spec, "="); ok {
		return LoadFile(ctx, name, "", path)
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
	return LoadFile(ctx, name, strconv.Itoa(v.Version), v.URI)
}
