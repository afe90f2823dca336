package filter

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
)

// Dialect selects the SQL flavour of the generated fragment.
type Dialect int

// Dialects.
const (
	// SQLite uses ? placeholders.
	SQLite Dialect = iota
	// PostgreSQL uses $n placeholders with explicit casts.
	PostgreSQL
)

// ErrInvalid is wrapped by every error Parse returns for a bad expression.
var ErrInvalid = errors.New("filter: invalid expression")

// Filter is a type-checked run filter. It is immutable and safe for concurrent use.
type Filter struct {
	src string
	ast *celast.AST
}

// MaxLength bounds the length of a filter expression.
const MaxLength = 4096

var (
	envOnce sync.Once
	env     *cel.Env
	envErr  error
)

// stringFields, timeFields and boolFields are the run fields a filter may name, with their
// column in the runs table (alias r).
var (
	stringFields = map[string]string{
		"id": "r.id", "name": "r.name", "description": "r.description", "phase": "r.phase",
		"experiment_id": "r.experiment_id", "pipeline_id": "r.pipeline_id",
		"pipeline_version_id": "r.pipeline_version_id", "recurring_run_id": "r.recurring_run_id",
		"created_by": "r.created_by",
	}
	timeFields = map[string]string{
		"created_at": "r.created_at", "started_at": "r.started_at", "finished_at": "r.finished_at",
	}
	boolFields = map[string]string{"archived": "r.archived"}
	// nullableColumns may hold NULL, so predicates over them are wrapped in COALESCE.
	nullableColumns = map[string]bool{
		"r.experiment_id": true, "r.pipeline_id": true, "r.pipeline_version_id": true,
		"r.recurring_run_id": true, "r.started_at": true, "r.finished_at": true,
	}
	// mapTables maps the map variables to their table.
	mapTables = map[string]string{"params": "params", "metrics": "latest_metrics", "tags": "tags"}
)

func celEnv() (*cel.Env, error) {
	envOnce.Do(func() {
		opts := []cel.EnvOption{
			cel.ClearMacros(),
			cel.Macros(cel.HasMacro),
			cel.CrossTypeNumericComparisons(true),
			// Params are strings, but a comparison with a number compares their numeric value
			// (params.lr < 0.1), so they type-check as dyn.
			cel.Variable("params", cel.MapType(cel.StringType, cel.DynType)),
			cel.Variable("metrics", cel.MapType(cel.StringType, cel.DoubleType)),
			cel.Variable("tags", cel.MapType(cel.StringType, cel.StringType)),
		}
		for name := range stringFields {
			opts = append(opts, cel.Variable(name, cel.StringType))
		}
		for name := range timeFields {
			opts = append(opts, cel.Variable(name, cel.TimestampType))
		}
		for name := range boolFields {
			opts = append(opts, cel.Variable(name, cel.BoolType))
		}
		env, envErr = cel.NewEnv(opts...)
	})
	return env, envErr
}

// Parse compiles and type-checks expr and verifies that it translates to SQL. The error wraps
// ErrInvalid and names the position of the offending construct.
func Parse(expr string) (*Filter, error) {
	if len(expr) > MaxLength {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalid, MaxLength)
	}
	e, err := celEnv()
	if err != nil {
		return nil, fmt.Errorf("filter: build environment: %w", err)
	}
	checked, iss := e.Compile(expr)
	if iss != nil && iss.Err() != nil {
		hint := ""
		if strings.Contains(iss.Err().Error(), "no matching overload") {
			hint = "\n(params and tags are strings: compare them as numbers with double(params.lr) < 0.1)"
		}
		return nil, fmt.Errorf("%w: %v%s", ErrInvalid, iss.Err(), hint)
	}
	if !checked.OutputType().IsExactType(cel.BoolType) {
		return nil, fmt.Errorf("%w: %q has type %s, want bool", ErrInvalid, expr, checked.OutputType())
	}
	f := &Filter{src: expr, ast: checked.NativeRep()}
	for _, d := range []Dialect{SQLite, PostgreSQL} {
		if _, _, err := f.SQL(d, 1); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// String returns the source expression.
func (f *Filter) String() string { return f.src }

// SQL returns a boolean SQL expression and its arguments. For PostgreSQL the placeholders are
// numbered from firstArg ($firstArg, $firstArg+1, ...); for SQLite they are ? in argument order
// and firstArg is ignored. A nil Filter yields "TRUE".
func (f *Filter) SQL(d Dialect, firstArg int) (string, []any, error) {
	if f == nil {
		return "TRUE", nil, nil
	}
	t := &translator{dialect: d, next: firstArg, info: f.ast.SourceInfo(), src: f.src}
	sql, err := t.boolExpr(f.ast.Expr())
	if err != nil {
		return "", nil, err
	}
	return sql, t.args, nil
}
