package sqlstore

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/kilnml/kiln/backend/filter"
	"github.com/kilnml/kiln/backend/store"
)

// sortKey is a column a list may be ordered by.
type sortKey struct {
	expr    string // SQL expression, qualified with the table alias
	numeric bool   // int64 values (times); otherwise text
	// metric is set when runs are ordered by the latest value of this metric; expr is then
	// unused, as listRunsByMetric builds its own queries, and values are float64.
	metric string
}

// metricsPrefix starts an order-by key naming a metric.
const metricsPrefix = "metrics."

// missingMetric is the sort key in page tokens of runs without the metric (or whose latest
// value is NaN), which come after all others. It is not a number, so no value can be mistaken
// for it.
const missingMetric = "none"

// listSpec describes the orderings of one list.
type listSpec struct {
	keys map[string]sortKey
	def  string // default ordering, e.g. "created_at desc"
	id   string // the tie-breaking unique column, e.g. "r.id"
	// metrics allows "metrics.<key>" orderings (runs only).
	metrics bool
}

type ordering struct {
	spec string // normalized "<key> asc|desc"
	key  sortKey
	desc bool
}

func (l listSpec) parse(orderBy string) (ordering, error) {
	if strings.TrimSpace(orderBy) == "" {
		orderBy = l.def
	}
	f := strings.Fields(orderBy)
	dir := "asc"
	switch {
	case len(f) == 2 && (strings.EqualFold(f[1], "asc") || strings.EqualFold(f[1], "desc")):
		dir = strings.ToLower(f[1])
	case len(f) == 1:
		if strings.HasPrefix(l.def, strings.ToLower(f[0])+" ") {
			dir = strings.Fields(l.def)[1]
		}
	default:
		return ordering{}, fmt.Errorf("%w: order by %q: want \"<key> [asc|desc]\"", store.ErrInvalidArgument, orderBy)
	}
	desc := dir == "desc"
	if metric, ok := strings.CutPrefix(f[0], metricsPrefix); ok && l.metrics && metric != "" {
		// Metric keys are case-sensitive, so f[0] keeps its case. The query is built by
		// listRunsByMetric, which walks latest_metrics in index order.
		return ordering{spec: f[0] + " " + dir, key: sortKey{metric: metric}, desc: desc}, nil
	}
	name := strings.ToLower(f[0])
	k, ok := l.keys[name]
	if !ok {
		return ordering{}, fmt.Errorf("%w: order by %q: unknown key %q", store.ErrInvalidArgument, orderBy, f[0])
	}
	return ordering{spec: name + " " + dir, key: k, desc: desc}, nil
}

// pageToken is what a page token encodes: the ordering and filter it belongs to, and the sort
// key and ID of the last item of the previous page.
type pageToken struct {
	Order  string `json:"o"`
	Filter string `json:"f,omitempty"`
	Key    string `json:"k"`
	ID     string `json:"i"`
}

func encodeToken(t pageToken) string {
	b, _ := json.Marshal(t) // strings only
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (pageToken, error) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil {
		return t, fmt.Errorf("%w: malformed page token", store.ErrInvalidArgument)
	}
	return t, nil
}

// builder assembles a query with placeholders of the store's dialect.
type builder struct {
	d     filter.Dialect
	sql   strings.Builder
	args  []any
	conds []string
}

func (b *builder) arg(v any) string {
	b.args = append(b.args, v)
	if b.d == filter.PostgreSQL {
		return "$" + strconv.Itoa(len(b.args))
	}
	return "?"
}

// clone returns a copy that can take more conditions and arguments without changing b.
func (b *builder) clone() *builder {
	return &builder{d: b.d, args: slices.Clone(b.args), conds: slices.Clone(b.conds)}
}

// where adds a condition; call arg for its values while building it, in order.
func (b *builder) where(cond string) { b.conds = append(b.conds, cond) }

// metricCursor is where a page ordered by a metric resumes: after the run with ID id, whose
// latest value is value, or, when missing is set, among the runs without the metric.
type metricCursor struct {
	value   float64
	id      string
	missing bool
}

// pageQuery is a list query being built.
type pageQuery struct {
	b builder
	// after is the decoded page token of a metric ordering, whose condition listRunsByMetric
	// adds itself (it differs between the runs with the metric and those without).
	after  *metricCursor
	spec   listSpec
	order  ordering
	size   int
	filter string
}

// newPage validates the options common to every list and starts the query.
func (s *Store) newPage(spec listSpec, opts store.ListOptions, filterAllowed bool) (*pageQuery, error) {
	if opts.Filter != nil && !filterAllowed {
		return nil, fmt.Errorf("%w: this list takes no filter", store.ErrInvalidArgument)
	}
	o, err := spec.parse(opts.OrderBy)
	if err != nil {
		return nil, err
	}
	size := opts.PageSize
	switch {
	case size < 0:
		return nil, fmt.Errorf("%w: negative page size %d", store.ErrInvalidArgument, size)
	case size == 0:
		size = store.DefaultPageSize
	case size > store.MaxPageSize:
		size = store.MaxPageSize
	}
	p := &pageQuery{b: builder{d: s.d.Filter}, spec: spec, order: o, size: size}
	if opts.Filter != nil {
		p.filter = opts.Filter.String()
	}
	if opts.PageToken != "" {
		t, err := decodeToken(opts.PageToken)
		if err != nil {
			return nil, err
		}
		if t.Order != o.spec || t.Filter != p.filter {
			return nil, fmt.Errorf("%w: page token is for another order or filter", store.ErrInvalidArgument)
		}
		var key any = t.Key
		switch {
		case o.key.metric != "" && t.Key == missingMetric:
			p.after = &metricCursor{id: t.ID, missing: true}
		case o.key.metric != "":
			f, err := strconv.ParseFloat(t.Key, 64)
			if err != nil || math.IsNaN(f) {
				return nil, fmt.Errorf("%w: malformed page token", store.ErrInvalidArgument)
			}
			p.after = &metricCursor{value: f, id: t.ID}
		case o.key.numeric:
			n, err := strconv.ParseInt(t.Key, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%w: malformed page token", store.ErrInvalidArgument)
			}
			key = n
		}
		if p.after == nil {
			cmp := ">"
			if o.desc {
				cmp = "<"
			}
			p.b.where(fmt.Sprintf("(%s, %s) %s (%s, %s)", o.key.expr, spec.id, cmp, p.b.arg(key), p.b.arg(t.ID)))
		}
	}
	if opts.Filter != nil {
		frag, args, err := opts.Filter.SQL(s.d.Filter, len(p.b.args)+1)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", store.ErrInvalidArgument, err)
		}
		p.b.args = append(p.b.args, args...)
		p.b.where("(" + frag + ")")
	}
	return p, nil
}

// build returns the full query: selectFrom, the conditions, the ordering and the limit. The
// sort key is selected last so next can build the token from it.
func (p *pageQuery) build(selectFrom string) (string, []any) {
	var sb strings.Builder
	sb.WriteString(selectFrom)
	if len(p.b.conds) > 0 {
		sb.WriteString(" WHERE ")
		sb.WriteString(strings.Join(p.b.conds, " AND "))
	}
	dir := " ASC"
	if p.order.desc {
		dir = " DESC"
	}
	fmt.Fprintf(&sb, " ORDER BY %s%s, %s%s LIMIT %d", p.order.key.expr, dir, p.spec.id, dir, p.size+1)
	return sb.String(), p.b.args
}

// token returns the next page token after an item with the given sort key and ID.
func (p *pageQuery) token(key any, id string) string {
	var k string
	switch v := key.(type) {
	case int64:
		k = strconv.FormatInt(v, 10)
	case string:
		k = v
	case float64:
		k = strconv.FormatFloat(v, 'g', -1, 64)
	default:
		k = fmt.Sprint(v)
	}
	return encodeToken(pageToken{Order: p.order.spec, Filter: p.filter, Key: k, ID: id})
}

// finish trims the extra row fetched to detect a next page and builds the next page token.
func finish[T any](p *pageQuery, items []T, keyOf func(item T, key string) any, idOf func(T) string) ([]T, string) {
	if len(items) <= p.size {
		return items, ""
	}
	items = items[:p.size]
	last := items[len(items)-1]
	key := strings.Fields(p.order.spec)[0]
	return items, p.token(keyOf(last, key), idOf(last))
}
