package mlflow

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// clause is one comparison of an MLflow search filter, such as metrics.acc > 0.9.
type clause struct {
	entity string // "metrics", "params", "tags" or "attributes"
	key    string
	op     string   // = != > >= < <= LIKE ILIKE IN
	values []string // one value, or the list of IN
	number bool     // the value is a number literal (else a quoted string)
}

// parseFilter parses MLflow's search filter syntax: comparisons joined by AND. An empty
// filter has no clauses.
func parseFilter(s string) ([]clause, error) {
	p := &filterParser{src: s}
	var out []clause
	p.space()
	if p.eof() {
		return nil, nil
	}
	for {
		c, err := p.clause()
		if err != nil {
			return nil, invalidParam("invalid filter '%s': %v", s, err)
		}
		out = append(out, c)
		p.space()
		if p.eof() {
			return out, nil
		}
		if !p.keyword("AND") {
			return nil, invalidParam("invalid filter '%s': at offset %d: expected AND (OR is not supported)", s, p.pos)
		}
	}
}

type filterParser struct {
	src string
	pos int
}

func (p *filterParser) eof() bool { return p.pos >= len(p.src) }

func (p *filterParser) space() {
	for !p.eof() && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
}

// keyword consumes a case-insensitive keyword followed by a space or "(".
func (p *filterParser) keyword(kw string) bool {
	p.space()
	end := p.pos + len(kw)
	if end > len(p.src) || !strings.EqualFold(p.src[p.pos:end], kw) {
		return false
	}
	if end < len(p.src) && !unicode.IsSpace(rune(p.src[end])) && p.src[end] != '(' && p.src[end] != '\'' {
		return false
	}
	p.pos = end
	return true
}

func isIdent(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// entityNames maps MLflow's identifier prefixes to the entity they name.
var entityNames = map[string]string{
	"metric": "metrics", "metrics": "metrics",
	"param": "params", "params": "params", "parameter": "params", "parameters": "params",
	"tag": "tags", "tags": "tags",
	"attribute": "attributes", "attributes": "attributes", "attr": "attributes", "run": "attributes",
}

func (p *filterParser) clause() (clause, error) {
	var c clause
	p.space()
	start := p.pos
	for !p.eof() && isIdent(p.src[p.pos]) {
		p.pos++
	}
	first := p.src[start:p.pos]
	if first == "" {
		return c, fmt.Errorf("at offset %d: expected an identifier such as metrics.accuracy", start)
	}
	if !p.eof() && p.src[p.pos] == '.' {
		ent, ok := entityNames[strings.ToLower(first)]
		if !ok {
			return c, fmt.Errorf("invalid entity type '%s': want metrics, params, tags or attributes", first)
		}
		p.pos++
		c.entity = ent
		key, err := p.key()
		if err != nil {
			return c, err
		}
		c.key = key
	} else {
		c.entity, c.key = "attributes", first
	}
	if c.key == "" {
		return c, fmt.Errorf("at offset %d: missing key after '%s.'", p.pos, first)
	}
	if err := p.operator(&c); err != nil {
		return c, err
	}
	p.space()
	if c.op == "IN" {
		if p.eof() || p.src[p.pos] != '(' {
			return c, fmt.Errorf("at offset %d: IN needs a parenthesized list of strings", p.pos)
		}
		p.pos++
		for {
			p.space()
			v, num, err := p.value()
			if err != nil {
				return c, err
			}
			if num {
				return c, fmt.Errorf("IN takes strings, got %s", v)
			}
			c.values = append(c.values, v)
			p.space()
			if !p.eof() && p.src[p.pos] == ',' {
				p.pos++
				continue
			}
			if !p.eof() && p.src[p.pos] == ')' {
				p.pos++
				return c, nil
			}
			return c, fmt.Errorf("at offset %d: expected ',' or ')'", p.pos)
		}
	}
	v, num, err := p.value()
	if err != nil {
		return c, err
	}
	c.values, c.number = []string{v}, num
	return c, nil
}

// key reads a key: an identifier with dots, or a key quoted with backticks or double quotes.
func (p *filterParser) key() (string, error) {
	if p.eof() {
		return "", fmt.Errorf("unexpected end of filter")
	}
	if q := p.src[p.pos]; q == '`' || q == '"' {
		end := strings.IndexByte(p.src[p.pos+1:], q)
		if end < 0 {
			return "", fmt.Errorf("at offset %d: unterminated quoted key", p.pos)
		}
		k := p.src[p.pos+1 : p.pos+1+end]
		p.pos += end + 2
		return k, nil
	}
	start := p.pos
	for !p.eof() && (isIdent(p.src[p.pos]) || p.src[p.pos] == '.' || p.src[p.pos] == '-' || p.src[p.pos] == '/') {
		p.pos++
	}
	return p.src[start:p.pos], nil
}

func (p *filterParser) operator(c *clause) error {
	p.space()
	for _, op := range []string{"!=", ">=", "<=", "=", ">", "<"} {
		if strings.HasPrefix(p.src[p.pos:], op) {
			p.pos += len(op)
			c.op = op
			return nil
		}
	}
	for _, op := range []string{"LIKE", "ILIKE", "IN"} {
		if p.keyword(op) {
			c.op = op
			return nil
		}
	}
	if p.keyword("NOT") {
		return fmt.Errorf("NOT is not supported")
	}
	return fmt.Errorf("at offset %d: expected a comparison operator (=, !=, >, >=, <, <=, LIKE, IN)", p.pos)
}

// value reads a quoted string (single or double quotes, a doubled quote escapes it) or a number.
func (p *filterParser) value() (string, bool, error) {
	if p.eof() {
		return "", false, fmt.Errorf("unexpected end of filter: missing value")
	}
	if q := p.src[p.pos]; q == '\'' || q == '"' {
		var b strings.Builder
		for i := p.pos + 1; i < len(p.src); i++ {
			if p.src[i] == q {
				if i+1 < len(p.src) && p.src[i+1] == q {
					b.WriteByte(q)
					i++
					continue
				}
				p.pos = i + 1
				return b.String(), false, nil
			}
			b.WriteByte(p.src[i])
		}
		return "", false, fmt.Errorf("at offset %d: unterminated string", p.pos)
	}
	start := p.pos
	for !p.eof() && strings.IndexByte("+-.0123456789eE", p.src[p.pos]) >= 0 {
		p.pos++
	}
	v := p.src[start:p.pos]
	if _, err := strconv.ParseFloat(v, 64); err != nil || v == "" {
		return "", false, fmt.Errorf("at offset %d: expected a quoted string or a number", start)
	}
	return v, true, nil
}

// statusPhases lists the Kiln phases of each MLflow run status.
var statusPhases = map[string][]string{
	"RUNNING":   {"Running"},
	"SCHEDULED": {"Pending"},
	"FINISHED":  {"Succeeded", "Skipped", "Omitted"},
	"FAILED":    {"Failed", "Error"},
	"KILLED":    {"Cancelled"},
}

// runFilterCEL translates an MLflow runs/search filter to Kiln's CEL run filter.
func runFilterCEL(s string) (string, error) {
	clauses, err := parseFilter(s)
	if err != nil {
		return "", err
	}
	parts := make([]string, 0, len(clauses))
	for _, c := range clauses {
		e, err := clauseCEL(c)
		if err != nil {
			return "", invalidParam("invalid filter '%s': %v", s, err)
		}
		parts = append(parts, e)
	}
	return strings.Join(parts, " && "), nil
}

func celOp(op string) string {
	if op == "=" {
		return "=="
	}
	return op
}

func clauseCEL(c clause) (string, error) {
	switch c.entity {
	case "metrics":
		if !c.number || c.op == "LIKE" || c.op == "ILIKE" || c.op == "IN" {
			return "", fmt.Errorf("metrics.%s: metrics are compared with numbers using =, !=, >, >=, < or <=", c.key)
		}
		return fmt.Sprintf("metrics[%s] %s %s", strconv.Quote(c.key), celOp(c.op), celDouble(c.values[0])), nil
	case "params", "tags":
		return stringCEL(fmt.Sprintf("%s[%s]", c.entity, strconv.Quote(c.key)), c, c.entity+"."+c.key)
	}
	switch strings.ToLower(c.key) {
	case "run_name":
		return stringCEL("name", c, "attributes.run_name")
	case "run_id", "run_uuid":
		return stringCEL("id", c, "attributes.run_id")
	case "user_id":
		return stringCEL("created_by", c, "attributes.user_id")
	case "status":
		return statusCEL(c)
	case "start_time", "end_time", "created", "creation_time":
		col := map[string]string{"start_time": "started_at", "end_time": "finished_at", "created": "created_at", "creation_time": "created_at"}[strings.ToLower(c.key)]
		if !c.number || c.op == "LIKE" || c.op == "ILIKE" || c.op == "IN" {
			return "", fmt.Errorf("attributes.%s is compared with a number of milliseconds", c.key)
		}
		ms, err := strconv.ParseFloat(c.values[0], 64)
		if err != nil {
			return "", fmt.Errorf("attributes.%s: %v", c.key, err)
		}
		ts := time.UnixMilli(int64(ms)).UTC().Format(time.RFC3339Nano)
		return fmt.Sprintf("%s %s timestamp(%s)", col, celOp(c.op), strconv.Quote(ts)), nil
	}
	return "", fmt.Errorf("unsupported attribute '%s': want run_id, run_name, status, user_id, start_time, end_time or created", c.key)
}

// celDouble writes a number literal as a CEL double.
func celDouble(v string) string {
	f, _ := strconv.ParseFloat(v, 64)
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEIN") {
		s += ".0"
	}
	return s
}

// stringCEL compares a string operand with =, !=, LIKE or IN.
func stringCEL(operand string, c clause, name string) (string, error) {
	if c.number {
		return "", fmt.Errorf("%s is a string: quote the value", name)
	}
	switch c.op {
	case "=", "!=":
		return fmt.Sprintf("%s %s %s", operand, celOp(c.op), strconv.Quote(c.values[0])), nil
	case "IN":
		q := make([]string, len(c.values))
		for i, v := range c.values {
			q[i] = strconv.Quote(v)
		}
		return fmt.Sprintf("%s in [%s]", operand, strings.Join(q, ", ")), nil
	case "LIKE":
		pat := c.values[0]
		inner := strings.Trim(pat, "%")
		if strings.Contains(inner, "%") {
			return "", fmt.Errorf("%s LIKE '%s': only prefix ('abc%%'), suffix ('%%abc') and substring ('%%abc%%') patterns are supported", name, pat)
		}
		pre, suf := strings.HasPrefix(pat, "%"), strings.HasSuffix(pat, "%") && len(pat) > 1
		switch {
		case pre && suf:
			return fmt.Sprintf("%s.contains(%s)", operand, strconv.Quote(inner)), nil
		case pre:
			return fmt.Sprintf("%s.endsWith(%s)", operand, strconv.Quote(inner)), nil
		case suf:
			return fmt.Sprintf("%s.startsWith(%s)", operand, strconv.Quote(inner)), nil
		}
		return fmt.Sprintf("%s == %s", operand, strconv.Quote(inner)), nil
	case "ILIKE":
		return "", fmt.Errorf("%s: ILIKE is not supported by runs/search; use LIKE", name)
	}
	return "", fmt.Errorf("%s is a string: compare it with =, !=, LIKE or IN, not %s", name, c.op)
}

func statusCEL(c clause) (string, error) {
	if c.op != "=" && c.op != "!=" && c.op != "IN" {
		return "", fmt.Errorf("attributes.status is compared with =, != or IN")
	}
	var phases []string
	for _, v := range c.values {
		ps, ok := statusPhases[strings.ToUpper(v)]
		if !ok {
			return "", fmt.Errorf("invalid status '%s': want RUNNING, SCHEDULED, FINISHED, FAILED or KILLED", v)
		}
		for _, p := range ps {
			phases = append(phases, strconv.Quote(p))
		}
	}
	e := fmt.Sprintf("phase in [%s]", strings.Join(phases, ", "))
	if c.op == "!=" {
		e = "!(" + e + ")"
	}
	return e, nil
}

// matcher evaluates a filter in memory over a name-like attribute set and tags, for
// experiments/search, registered-models/search and model-versions/search.
type matcher func(attr func(key string) (string, bool), tags map[string]string) bool

// parseMemoryFilter parses a filter over the given string attributes and, when allowTags, tags.
// It supports =, !=, LIKE, ILIKE and IN.
func parseMemoryFilter(s string, attrs []string, allowTags bool) (matcher, error) {
	clauses, err := parseFilter(s)
	if err != nil {
		return nil, err
	}
	type test struct {
		tag bool
		key string
		fn  func(string) bool
	}
	tests := make([]test, 0, len(clauses))
	for _, c := range clauses {
		t := test{key: strings.ToLower(c.key)}
		switch {
		case c.entity == "tags" && allowTags:
			t.tag, t.key = true, c.key
		case c.entity == "attributes" && contains(attrs, t.key):
		default:
			what := strings.Join(attrs, ", ")
			if allowTags {
				what += " or tags.<key>"
			}
			return nil, invalidParam("invalid filter '%s': unsupported key '%s.%s': want %s", s, c.entity, c.key, what)
		}
		if c.number {
			return nil, invalidParam("invalid filter '%s': %s is a string: quote the value", s, c.key)
		}
		fn, err := stringTest(c)
		if err != nil {
			return nil, invalidParam("invalid filter '%s': %v", s, err)
		}
		t.fn = fn
		tests = append(tests, t)
	}
	return func(attr func(string) (string, bool), tags map[string]string) bool {
		for _, t := range tests {
			var v string
			var ok bool
			if t.tag {
				v, ok = tags[t.key]
			} else {
				v, ok = attr(t.key)
			}
			if !ok || !t.fn(v) {
				return false
			}
		}
		return true
	}, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func stringTest(c clause) (func(string) bool, error) {
	v := c.values[0]
	switch c.op {
	case "=":
		return func(s string) bool { return s == v }, nil
	case "!=":
		return func(s string) bool { return s != v }, nil
	case "IN":
		return func(s string) bool { return contains(c.values, s) }, nil
	case "LIKE", "ILIKE":
		re, err := likeRegexp(v, c.op == "ILIKE")
		if err != nil {
			return nil, err
		}
		return re.MatchString, nil
	}
	return nil, fmt.Errorf("%s is a string: compare it with =, !=, LIKE, ILIKE or IN, not %s", c.key, c.op)
}

// likeRegexp compiles a SQL LIKE pattern: % is any run of characters, _ any one character.
func likeRegexp(pat string, fold bool) (*regexp.Regexp, error) {
	var b strings.Builder
	if fold {
		b.WriteString("(?is)")
	} else {
		b.WriteString("(?s)")
	}
	b.WriteString("^")
	for _, r := range pat {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// parseNameTagFilter is the experiments/search filter: name and tags.<key>.
func parseNameTagFilter(s string, allowTags bool) (func(name string, tags map[string]string) bool, error) {
	m, err := parseMemoryFilter(s, []string{"name"}, allowTags)
	if err != nil {
		return nil, err
	}
	return func(name string, tags map[string]string) bool {
		return m(func(string) (string, bool) { return name, true }, tags)
	}, nil
}
