package portal_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDAGLayoutProperties runs js/dag.js's layout in Chromium on random DAGs and a 3,000-node
// graph: every edge of an acyclic graph must point to a lower layer, no two nodes may overlap (a
// cycle still places every node), and the big layout must
// take well under a second (the run page lays out again only when the graph changes).
func TestDAGLayoutProperties(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	b := newBrowser(t, 1280, 900)
	e := newPortalEnv(t, false)
	b.do("open portal", 20*time.Second, chromedp.Navigate(e.url+"/"), waitJS(`document.querySelector('#main h1')`))
	type result struct {
		Violations []string `json:"violations"`
		BigMillis  float64  `json:"bigMillis"`
		BigLayers  int      `json:"bigLayers"`
	}
	const script = `(async () => {
  const { layout, withSpecEdges } = await import('/js/dag.js');
  let seed = 42;
  const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const violations = [];
  const check = (nodes, name, cyclic) => {
    const { pos, edges } = layout(nodes);
    for (const [a, c] of edges) if (!cyclic && !(pos.get(a).layer < pos.get(c).layer)) violations.push(name + ': edge ' + a + '->' + c + ' not downward');
    const seen = new Set();
    for (const [id, p] of pos) { const k = p.x + ',' + p.y; if (seen.has(k)) violations.push(name + ': overlap at ' + id); seen.add(k); }
    if (pos.size !== nodes.length) violations.push(name + ': ' + pos.size + ' positions for ' + nodes.length + ' nodes');
  };
  const randomDAG = (n, p) => Array.from({ length: n }, (_, i) => ({ id: 'n' + i,
    children: Array.from({ length: n - i - 1 }, (_, k) => 'n' + (i + k + 1)).filter(() => rand() < p) }));
  for (let i = 0; i < 200; i++) check(randomDAG(1 + Math.floor(rand() * 40), rand() * 0.3), 'random' + i);
  check([{ id: 'a', children: ['b'] }, { id: 'b', children: ['a'] }, { id: 'c', children: [] }], 'cycle', true);
  // Spec edges turn a flat DAG fan-out (the local engine's shape) into the dependency picture.
  const flat = withSpecEdges([{ id: 'root', type: 'DAG', template: 'main', children: ['x', 'y'] }, { id: 'x', displayName: 'x', children: [] }, { id: 'y', displayName: 'y(0:1)', children: [] }],
    { templates: [{ name: 'main', kind: 'dag', tasks: [{ name: 'x' }, { name: 'y', depends: ['x'] }] }] });
  if (JSON.stringify(flat.map((n) => n.children)) !== JSON.stringify([['x'], ['y'], []])) violations.push('withSpecEdges: ' + JSON.stringify(flat.map((n) => n.children)));
  const big = randomDAG(3000, 0.001);
  const t0 = performance.now();
  const { pos } = layout(big);
  const bigMillis = performance.now() - t0;
  return { violations, bigMillis, bigLayers: Math.max(...[...pos.values()].map((p) => p.layer)) + 1 };
})()`
	var res result
	b.do("layout", 60*time.Second, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		var err error
		res, err = chromedp.Evaluate[result](script, chromedp.EvalAwaitPromise)(ctx, tg)
		return chromedp.Void{}, err
	})
	for _, v := range res.Violations {
		t.Error(v)
	}
	t.Logf("3000-node layout: %.1f ms, %d layers", res.BigMillis, res.BigLayers)
	if res.BigMillis > 1000 {
		t.Errorf("3000-node layout took %.0f ms, want < 1000", res.BigMillis)
	}
}
