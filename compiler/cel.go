package compiler

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"

	"github.com/kilnml/kiln/internal/ir"
)

// celType maps a Kiln type to the CEL type a condition sees it as.
func celType(t ir.Type) *cel.Type {
	switch t.Kind {
	case ir.KindString:
		return cel.StringType
	case ir.KindInt:
		return cel.IntType
	case ir.KindFloat:
		return cel.DoubleType
	case ir.KindBool:
		return cel.BoolType
	case ir.KindList:
		if t.Elem != nil {
			return cel.ListType(celType(*t.Elem))
		}
		return cel.ListType(cel.DynType)
	case ir.KindMap:
		if t.Elem != nil {
			return cel.MapType(cel.StringType, celType(*t.Elem))
		}
		return cel.MapType(cel.StringType, cel.DynType)
	}
	return cel.DynType
}

// operand renders a bound variable in a `when` expression.
type operand func(v ir.Var) (string, error)

// lowerCondition type-checks a CEL condition and lowers it to the govaluate expression Argo
// evaluates for `when`, after substituting each variable's Argo reference (from ref).
//
// Only constructs whose meaning is the same in both languages are lowered; anything else is an
// error rather than a silent change of meaning.
func lowerCondition(c *ir.Condition, ref operand) (string, error) {
	if strings.TrimSpace(c.Expr) == "" {
		return "", fmt.Errorf("condition is empty")
	}
	opts := make([]cel.EnvOption, 0, len(c.Vars))
	vars := make(map[string]ir.Var, len(c.Vars))
	for _, v := range c.Vars {
		if !celIdent.MatchString(v.Name) {
			return "", fmt.Errorf("variable name %q is not a CEL identifier", v.Name)
		}
		if _, dup := vars[v.Name]; dup {
			return "", fmt.Errorf("variable %q bound twice", v.Name)
		}
		if v.Value.Type.IsArtifact() {
			return "", fmt.Errorf("variable %q is an artifact; conditions can only use parameters", v.Name)
		}
		vars[v.Name] = v
		opts = append(opts, cel.Variable(v.Name, celType(v.Value.Type)))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return "", fmt.Errorf("condition %q: %w", c.Expr, err)
	}
	checked, iss := env.Compile(c.Expr)
	if iss.Err() != nil {
		var msgs []string
		for _, e := range iss.Errors() {
			msgs = append(msgs, fmt.Sprintf("%s (column %d)", e.Message, e.Location.Column()+1))
		}
		return "", fmt.Errorf("condition %q: %s", c.Expr, strings.Join(msgs, "; "))
	}
	if !checked.OutputType().IsExactType(types.BoolType) {
		return "", fmt.Errorf("condition %q has type %s, want bool", c.Expr, checked.OutputType())
	}
	l := lowering{vars: vars, ref: ref, native: checked.NativeRep()}
	out, err := l.expr(checked.NativeRep().Expr())
	if err != nil {
		return "", fmt.Errorf("condition %q: %w", c.Expr, err)
	}
	return out, nil
}

var celIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

type lowering struct {
	vars   map[string]ir.Var
	ref    operand
	native *celast.AST
}

var binaryOps = map[string]string{
	"_==_": "==", "_!=_": "!=", "_<_": "<", "_<=_": "<=", "_>_": ">", "_>=_": ">=",
	"_&&_": "&&", "_||_": "||", "_+_": "+", "_-_": "-", "_*_": "*", "_/_": "/", "_%_": "%",
}

func (l *lowering) typeOf(e celast.Expr) *types.Type {
	return l.native.GetType(e.ID())
}

func (l *lowering) expr(e celast.Expr) (string, error) {
	switch e.Kind() {
	case celast.LiteralKind:
		return literal(e.AsLiteral().Value())
	case celast.IdentKind:
		v, ok := l.vars[e.AsIdent()]
		if !ok {
			return "", fmt.Errorf("unknown variable %q", e.AsIdent())
		}
		switch v.Value.Type.Kind {
		case ir.KindString, ir.KindInt, ir.KindFloat, ir.KindBool:
		default:
			return "", fmt.Errorf("variable %q of type %s can only be used with `in` or comparisons of scalars", v.Name, v.Value.Type)
		}
		return l.ref(v)
	case celast.CallKind:
		return l.call(e.AsCall(), e)
	}
	return "", fmt.Errorf("this kind of expression (%s) cannot be lowered to an Argo condition", kindName(e.Kind()))
}

func (l *lowering) call(c celast.CallExpr, e celast.Expr) (string, error) {
	fn, args := c.FunctionName(), c.Args()
	if op, ok := binaryOps[fn]; ok && len(args) == 2 {
		lt, rt := l.typeOf(args[0]), l.typeOf(args[1])
		switch fn {
		case "_/_":
			if lt.IsExactType(types.IntType) {
				return "", fmt.Errorf("integer division cannot be lowered (Argo divides in floating point); convert with double()")
			}
		case "_%_":
			if !lt.IsExactType(types.IntType) {
				return "", fmt.Errorf("%% is only supported on ints")
			}
		case "_<_", "_<=_", "_>_", "_>=_":
			if !numeric(lt) || !numeric(rt) {
				return "", fmt.Errorf("ordering comparisons are only supported on numbers")
			}
		case "_+_":
			if !numeric(lt) {
				return "", fmt.Errorf("+ is only supported on numbers")
			}
		}
		a, err := l.expr(args[0])
		if err != nil {
			return "", err
		}
		b, err := l.expr(args[1])
		if err != nil {
			return "", err
		}
		return "(" + a + " " + op + " " + b + ")", nil
	}
	switch fn {
	case "!_":
		a, err := l.expr(args[0])
		if err != nil {
			return "", err
		}
		return "!" + a, nil
	case "-_":
		a, err := l.expr(args[0])
		if err != nil {
			return "", err
		}
		return "(-" + a + ")", nil
	case "_?_:_":
		parts := make([]string, 3)
		for i, a := range args {
			s, err := l.expr(a)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return "(" + parts[0] + " ? " + parts[1] + " : " + parts[2] + ")", nil
	case "@in":
		if args[1].Kind() != celast.ListKind {
			return "", fmt.Errorf("`in` is only supported with a literal list on the right")
		}
		x, err := l.expr(args[0])
		if err != nil {
			return "", err
		}
		var items []string
		for _, it := range args[1].AsList().Elements() {
			s, err := l.expr(it)
			if err != nil {
				return "", err
			}
			items = append(items, s)
		}
		if len(items) == 0 {
			return "false", nil
		}
		return "(" + x + " IN (" + strings.Join(items, ", ") + "))", nil
	case "double":
		if len(args) == 1 && l.typeOf(args[0]).IsExactType(types.IntType) {
			return l.expr(args[0])
		}
		if len(args) == 1 && l.typeOf(args[0]).IsExactType(types.DoubleType) {
			return l.expr(args[0])
		}
	case "matches", "startsWith", "endsWith", "contains":
		target, pattern, err := l.stringCall(c)
		if err != nil {
			return "", err
		}
		var re string
		switch fn {
		case "matches":
			if _, err := regexp.Compile(pattern); err != nil {
				return "", fmt.Errorf("matches: %w", err)
			}
			re = pattern
		case "startsWith":
			re = "^" + regexp.QuoteMeta(pattern)
		case "endsWith":
			re = regexp.QuoteMeta(pattern) + "$"
		case "contains":
			re = regexp.QuoteMeta(pattern)
		}
		lit, err := literal(re)
		if err != nil {
			return "", err
		}
		return "(" + target + " =~ " + lit + ")", nil
	}
	return "", fmt.Errorf("function %s cannot be lowered to an Argo condition", strings.Trim(fn, "_@"))
}

// stringCall lowers s.f("literal") (or f(s, "literal")) and returns the lowered target and the
// literal argument.
func (l *lowering) stringCall(c celast.CallExpr) (string, string, error) {
	args := c.Args()
	var target celast.Expr
	if c.IsMemberFunction() {
		target = c.Target()
	} else if len(args) == 2 {
		target, args = args[0], args[1:]
	}
	if target == nil || len(args) != 1 || args[0].Kind() != celast.LiteralKind {
		return "", "", fmt.Errorf("%s is only supported with a literal string argument", c.FunctionName())
	}
	pattern, ok := args[0].AsLiteral().Value().(string)
	if !ok {
		return "", "", fmt.Errorf("%s needs a string argument", c.FunctionName())
	}
	t, err := l.expr(target)
	if err != nil {
		return "", "", err
	}
	return t, pattern, nil
}

func numeric(t *types.Type) bool {
	return t != nil && (t.IsExactType(types.IntType) || t.IsExactType(types.DoubleType))
}

// literal renders a constant in govaluate syntax.
func literal(v any) (string, error) {
	switch x := v.(type) {
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		s := strconv.FormatFloat(x, 'f', -1, 64)
		return s, nil
	case string:
		return quote(x)
	}
	return "", fmt.Errorf("literal %v of type %T cannot be lowered", v, v)
}

// quote renders s as a govaluate string literal. govaluate has no escapes, so a string holding
// both kinds of quote cannot be written.
func quote(s string) (string, error) {
	switch {
	case !strings.Contains(s, "'"):
		return "'" + s + "'", nil
	case !strings.Contains(s, `"`):
		return `"` + s + `"`, nil
	}
	return "", fmt.Errorf("string %q holds both ' and \" and cannot be written in an Argo condition", s)
}

func kindName(k celast.ExprKind) string {
	switch k {
	case celast.SelectKind:
		return "field selection"
	case celast.ListKind:
		return "list literal"
	case celast.MapKind:
		return "map literal"
	case celast.StructKind:
		return "message"
	case celast.ComprehensionKind:
		return "macro"
	}
	return "unknown"
}
