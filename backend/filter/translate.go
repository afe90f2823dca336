package filter

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/overloads"
	"github.com/google/cel-go/common/types"
)

// valueType is the SQL-side type of an operand.
type valueType int

const (
	vString valueType = iota
	vDouble
	vInt
	vTime // BIGINT Unix nanoseconds
	vBool
)

type operandKind int

const (
	opColumn  operandKind = iota // a column of r
	opMap                        // a key of params, metrics or tags
	opLiteral                    // a value from the expression, passed as an argument
	opBoolean                    // a boolean sub-expression
)

// operand is a scalar in a comparison.
type operand struct {
	kind     operandKind
	typ      valueType
	column   string // opColumn
	nullable bool
	table    string      // opMap
	key      string      // opMap
	valueCol string      // opMap: value or num_value
	lit      any         // opLiteral
	boolExpr celast.Expr // opBoolean, rendered (and its arguments bound) by scalar
}

// translator walks a checked AST and renders SQL, collecting arguments in textual order.
type translator struct {
	dialect Dialect
	next    int
	args    []any
	info    *celast.SourceInfo
	src     string
}

var comparisonOps = map[string]string{
	operators.Equals: "=", operators.NotEquals: "<>", operators.Less: "<",
	operators.LessEquals: "<=", operators.Greater: ">", operators.GreaterEquals: ">=",
}

// flipped gives the operator with its operands swapped.
var flipped = map[string]string{"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

func (t *translator) unsupported(e celast.Expr, what string) error {
	loc := t.info.GetStartLocation(e.ID())
	return fmt.Errorf("%w: %s at %d:%d is not supported", ErrInvalid, what, loc.Line(), loc.Column()+1)
}

// arg binds v and returns its placeholder.
func (t *translator) arg(v any, typ valueType) string {
	t.args = append(t.args, v)
	if t.dialect == SQLite {
		return "?"
	}
	n := t.next
	t.next++
	sqlType := map[valueType]string{
		vString: "TEXT", vDouble: "DOUBLE PRECISION", vInt: "BIGINT", vTime: "BIGINT", vBool: "BOOLEAN",
	}[typ]
	return fmt.Sprintf("CAST($%d AS %s)", n, sqlType)
}

func (t *translator) boolExpr(e celast.Expr) (string, error) {
	switch e.Kind() {
	case celast.LiteralKind:
		if b, ok := e.AsLiteral().Value().(bool); ok {
			if b {
				return "TRUE", nil
			}
			return "FALSE", nil
		}
	case celast.IdentKind:
		if col, ok := boolFields[e.AsIdent()]; ok {
			return col, nil
		}
	case celast.SelectKind:
		sel := e.AsSelect()
		if sel.IsTestOnly() {
			if sel.Operand().Kind() == celast.IdentKind {
				if table, ok := mapTables[sel.Operand().AsIdent()]; ok {
					return t.keyExists(table, sel.FieldName()), nil
				}
			}
			return "", t.unsupported(e, "has() of anything but a params, metrics or tags key")
		}
	case celast.CallKind:
		return t.call(e)
	}
	return "", t.unsupported(e, "this boolean expression")
}

func (t *translator) keyExists(table, key string) string {
	return fmt.Sprintf("EXISTS (SELECT 1 FROM %s t WHERE t.run_id = r.id AND t.key = %s)", table, t.arg(key, vString))
}

func (t *translator) call(e celast.Expr) (string, error) {
	c := e.AsCall()
	fn := c.FunctionName()
	switch fn {
	case operators.LogicalAnd, operators.LogicalOr:
		join := " AND "
		if fn == operators.LogicalOr {
			join = " OR "
		}
		parts := make([]string, 0, len(c.Args()))
		for _, a := range c.Args() {
			s, err := t.boolExpr(a)
			if err != nil {
				return "", err
			}
			parts = append(parts, "("+s+")")
		}
		return strings.Join(parts, join), nil
	case operators.LogicalNot:
		s, err := t.boolExpr(c.Args()[0])
		if err != nil {
			return "", err
		}
		return "NOT (" + s + ")", nil
	case operators.In:
		return t.in(e, c.Args()[0], c.Args()[1])
	case overloads.StartsWith, overloads.EndsWith, overloads.Contains:
		if !c.IsMemberFunction() || len(c.Args()) != 1 {
			return "", t.unsupported(e, fn+"()")
		}
		return t.match(e, fn, c.Target(), c.Args()[0])
	}
	if op, ok := comparisonOps[fn]; ok {
		return t.compare(c.Args()[0], op, c.Args()[1])
	}
	return "", t.unsupported(e, fmt.Sprintf("function %q", fn))
}

// pred renders a predicate over one operand. For a map key it becomes an EXISTS over the run's
// row for that key, so a missing key is false and NOT keeps two-valued logic. The correlated form
// beats an uncorrelated IN (SELECT run_id ...) for keyset pages: the runs are walked in page
// order through their index and the walk stops after one page of matches, instead of first
// materializing every matching run.
func (t *translator) pred(o operand, render func(x string) string) string {
	switch o.kind {
	case opMap:
		key := t.arg(o.key, vString)
		return fmt.Sprintf("EXISTS (SELECT 1 FROM %s t WHERE t.run_id = r.id AND t.key = %s AND %s)",
			o.table, key, render("t."+o.valueCol))
	case opColumn:
		if o.nullable {
			return "COALESCE(" + render(o.column) + ", FALSE)"
		}
		return render(o.column)
	default:
		return "COALESCE(" + render(t.scalar(o)) + ", FALSE)"
	}
}

// scalar renders o as a value expression, binding its arguments.
func (t *translator) scalar(o operand) string {
	switch o.kind {
	case opColumn:
		return o.column
	case opMap:
		return fmt.Sprintf("(SELECT t.%s FROM %s t WHERE t.run_id = r.id AND t.key = %s)",
			o.valueCol, o.table, t.arg(o.key, vString))
	case opLiteral:
		return t.arg(o.lit, o.typ)
	default:
		// boolOperand validated the expression, so rendering it again cannot fail.
		s, _ := t.boolExpr(o.boolExpr)
		return "(" + s + ")"
	}
}

// numericParam makes a param compared with a number literal compare its numeric value, as
// double(params.k) does: params.lr < 0.1 means double(params.lr) < 0.1.
func numericParam(p, lit *operand) {
	if p.kind == opMap && p.table == "params" && p.valueCol != "num_value" && lit.kind == opLiteral && (lit.typ == vInt || lit.typ == vDouble) {
		p.valueCol, p.typ = "num_value", vDouble
	}
}

// unify converts an integer literal compared with a double to a double.
func unify(a, b *operand) {
	for _, p := range [][2]*operand{{a, b}, {b, a}} {
		lit, other := p[0], p[1]
		if lit.kind == opLiteral && lit.typ == vInt && other.typ == vDouble {
			lit.lit = float64(lit.lit.(int64))
			lit.typ = vDouble
		}
	}
}

func (t *translator) compare(le celast.Expr, op string, re celast.Expr) (string, error) {
	l, err := t.operand(le)
	if err != nil {
		return "", err
	}
	r, err := t.operand(re)
	if err != nil {
		return "", err
	}
	numericParam(&l, &r)
	numericParam(&r, &l)
	unify(&l, &r)
	switch {
	case r.kind == opLiteral && l.kind != opLiteral:
		return t.pred(l, func(x string) string { return x + " " + op + " " + t.scalar(r) }), nil
	case l.kind == opLiteral && r.kind != opLiteral:
		return t.pred(r, func(x string) string { return x + " " + flipped[op] + " " + t.scalar(l) }), nil
	}
	s := t.scalar(l) + " " + op + " " + t.scalar(r)
	if l.kind == opLiteral && r.kind == opLiteral {
		return s, nil
	}
	return "COALESCE(" + s + ", FALSE)", nil
}

func (t *translator) in(e, elem, coll celast.Expr) (string, error) {
	if coll.Kind() == celast.IdentKind {
		table, ok := mapTables[coll.AsIdent()]
		if !ok {
			return "", t.unsupported(coll, "`in` of this collection")
		}
		key, err := t.operand(elem)
		if err != nil {
			return "", err
		}
		if key.kind != opLiteral || key.typ != vString {
			return "", t.unsupported(elem, "a key that is not a string literal")
		}
		return t.keyExists(table, key.lit.(string)), nil
	}
	if coll.Kind() != celast.ListKind {
		return "", t.unsupported(coll, "`in` of anything but a list literal or a map")
	}
	x, err := t.operand(elem)
	if err != nil {
		return "", err
	}
	if x.kind == opLiteral {
		return "", t.unsupported(elem, "`in` with a literal on the left")
	}
	items := make([]operand, 0, len(coll.AsList().Elements()))
	for _, el := range coll.AsList().Elements() {
		o, err := t.operand(el)
		if err != nil {
			return "", err
		}
		if o.kind != opLiteral {
			return "", t.unsupported(el, "a list element that is not a literal")
		}
		unify(&x, &o)
		items = append(items, o)
	}
	if len(items) == 0 {
		return "FALSE", nil
	}
	return t.pred(x, func(col string) string {
		ph := make([]string, len(items))
		for i, o := range items {
			ph[i] = t.scalar(o)
		}
		return col + " IN (" + strings.Join(ph, ", ") + ")"
	}), nil
}

func (t *translator) match(e celast.Expr, fn string, target, argExpr celast.Expr) (string, error) {
	x, err := t.operand(target)
	if err != nil {
		return "", err
	}
	a, err := t.operand(argExpr)
	if err != nil {
		return "", err
	}
	if a.kind != opLiteral || a.typ != vString {
		return "", t.unsupported(argExpr, fn+"() with an argument that is not a string literal")
	}
	if x.kind == opLiteral || x.typ != vString {
		return "", t.unsupported(target, fn+"() on this receiver")
	}
	s := a.lit.(string)
	var pattern, op string
	if t.dialect == SQLite {
		// GLOB is case-sensitive, unlike SQLite's LIKE; brackets quote its metacharacters.
		esc := strings.NewReplacer("[", "[[]", "*", "[*]", "?", "[?]").Replace(s)
		op = " GLOB "
		switch fn {
		case overloads.StartsWith:
			pattern = esc + "*"
		case overloads.EndsWith:
			pattern = "*" + esc
		default:
			pattern = "*" + esc + "*"
		}
	} else {
		esc := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
		op = " LIKE "
		switch fn {
		case overloads.StartsWith:
			pattern = esc + "%"
		case overloads.EndsWith:
			pattern = "%" + esc
		default:
			pattern = "%" + esc + "%"
		}
	}
	return t.pred(x, func(col string) string {
		if t.dialect == SQLite && x.kind == opColumn {
			// Unary + keeps SQLite from answering a prefix through the column's index and then
			// sorting every match for the page; PostgreSQL's LIKE does not use it either.
			col = "+" + col
		}
		s := col + op + t.arg(pattern, vString)
		if t.dialect == PostgreSQL {
			s += ` ESCAPE '\'`
		}
		return s
	}), nil
}

// operand interprets e as a scalar.
func (t *translator) operand(e celast.Expr) (operand, error) {
	switch e.Kind() {
	case celast.IdentKind:
		name := e.AsIdent()
		if col, ok := stringFields[name]; ok {
			if nullableColumns[col] {
				// An unset reference reads as "", as the field would in CEL.
				col = "COALESCE(" + col + ", '')"
			}
			return operand{kind: opColumn, typ: vString, column: col}, nil
		}
		if col, ok := timeFields[name]; ok {
			return operand{kind: opColumn, typ: vTime, column: col, nullable: nullableColumns[col]}, nil
		}
		if col, ok := boolFields[name]; ok {
			return operand{kind: opColumn, typ: vBool, column: col}, nil
		}
		return operand{}, t.unsupported(e, fmt.Sprintf("%q as a value", name))
	case celast.SelectKind:
		sel := e.AsSelect()
		if !sel.IsTestOnly() && sel.Operand().Kind() == celast.IdentKind {
			if o, ok := mapOperand(sel.Operand().AsIdent(), sel.FieldName()); ok {
				return o, nil
			}
		}
		if sel.IsTestOnly() {
			return t.boolOperand(e)
		}
		return operand{}, t.unsupported(e, "field selection")
	case celast.LiteralKind:
		return t.literal(e)
	case celast.CallKind:
		return t.callOperand(e)
	}
	return operand{}, t.unsupported(e, "this expression")
}

func mapOperand(variable, key string) (operand, bool) {
	table, ok := mapTables[variable]
	if !ok {
		return operand{}, false
	}
	typ := vString
	if variable == "metrics" {
		typ = vDouble
	}
	return operand{kind: opMap, typ: typ, table: table, key: key, valueCol: "value"}, true
}

func (t *translator) literal(e celast.Expr) (operand, error) {
	switch v := e.AsLiteral().(type) {
	case types.String:
		return operand{kind: opLiteral, typ: vString, lit: string(v)}, nil
	case types.Double:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return operand{}, t.unsupported(e, "a non-finite number")
		}
		return operand{kind: opLiteral, typ: vDouble, lit: f}, nil
	case types.Int:
		return operand{kind: opLiteral, typ: vInt, lit: int64(v)}, nil
	case types.Uint:
		if uint64(v) > math.MaxInt64 {
			return operand{kind: opLiteral, typ: vDouble, lit: float64(v)}, nil
		}
		return operand{kind: opLiteral, typ: vInt, lit: int64(v)}, nil
	case types.Bool:
		return operand{kind: opLiteral, typ: vBool, lit: bool(v)}, nil
	}
	return operand{}, t.unsupported(e, "a literal of this type")
}

func (t *translator) callOperand(e celast.Expr) (operand, error) {
	c := e.AsCall()
	fn := c.FunctionName()
	args := c.Args()
	switch {
	case fn == operators.Index && len(args) == 2:
		if args[0].Kind() == celast.IdentKind && args[1].Kind() == celast.LiteralKind {
			if key, ok := args[1].AsLiteral().(types.String); ok {
				if o, ok := mapOperand(args[0].AsIdent(), string(key)); ok {
					return o, nil
				}
			}
		}
		return operand{}, t.unsupported(e, "an index that is not a map key literal")
	case fn == overloads.TypeConvertDouble && len(args) == 1 && !c.IsMemberFunction():
		o, err := t.operand(args[0])
		if err != nil {
			return operand{}, err
		}
		switch {
		case o.kind == opMap && o.table == "params":
			o.valueCol, o.typ = "num_value", vDouble
			return o, nil
		case o.typ == vDouble:
			return o, nil
		case o.kind == opLiteral && o.typ == vInt:
			return operand{kind: opLiteral, typ: vDouble, lit: float64(o.lit.(int64))}, nil
		case o.kind == opLiteral && o.typ == vString:
			f, err := strconv.ParseFloat(o.lit.(string), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return operand{}, t.unsupported(e, "double() of a string that is not a finite number")
			}
			return operand{kind: opLiteral, typ: vDouble, lit: f}, nil
		}
		return operand{}, t.unsupported(e, "double() of anything but a param, a metric or a number")
	case fn == overloads.TypeConvertTimestamp && len(args) == 1 && !c.IsMemberFunction():
		if args[0].Kind() == celast.LiteralKind {
			if s, ok := args[0].AsLiteral().(types.String); ok {
				ts, err := time.Parse(time.RFC3339Nano, string(s))
				if err != nil {
					return operand{}, fmt.Errorf("%w: timestamp(%q): %v", ErrInvalid, string(s), err)
				}
				if ts.Year() < 1678 || ts.Year() > 2261 {
					return operand{}, t.unsupported(e, "a timestamp outside the years 1678-2261")
				}
				return operand{kind: opLiteral, typ: vTime, lit: ts.UnixNano()}, nil
			}
		}
		return operand{}, t.unsupported(e, "timestamp() of anything but a string literal")
	case fn == operators.Negate && len(args) == 1:
		o, err := t.operand(args[0])
		if err != nil {
			return operand{}, err
		}
		if o.kind == opLiteral {
			switch v := o.lit.(type) {
			case int64:
				if v != math.MinInt64 {
					o.lit = -v
					return o, nil
				}
			case float64:
				o.lit = -v
				return o, nil
			}
		}
		return operand{}, t.unsupported(e, "negation of anything but a number literal")
	}
	return t.boolOperand(e)
}

// boolOperand checks that e translates, on a scratch translator so that no argument is bound
// yet: arguments are bound when the operand is rendered, in the order of the SQL text.
func (t *translator) boolOperand(e celast.Expr) (operand, error) {
	scratch := &translator{dialect: t.dialect, next: 1, info: t.info, src: t.src}
	if _, err := scratch.boolExpr(e); err != nil {
		return operand{}, err
	}
	return operand{kind: opBoolean, typ: vBool, boolExpr: e}, nil
}
