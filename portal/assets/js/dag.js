// dag.js: a small layered DAG layout (longest-path layering, barycentre ordering) drawn as SVG.
import { svg, fill, fmtDuration } from './lib.js';

const W = 184, H = 46, GX = 28, GY = 54, PAD = 16;

/**
 * layout assigns each node a layer (longest path from a source) and an order within the layer
 * that reduces edge crossings (four barycentre sweeps). nodes: [{id, children: [id]}].
 * Returns {pos: Map(id -> {x, y, layer}), width, height, edges: [[from, to]]}.
 */
export function layout(nodes) {
  const ids = new Set(nodes.map((n) => n.id));
  const parents = new Map(nodes.map((n) => [n.id, []]));
  const edges = [];
  for (const n of nodes) for (const c of n.children || []) {
    if (ids.has(c) && c !== n.id) { parents.get(c).push(n.id); edges.push([n.id, c]); }
  }
  // Longest-path layering by Kahn's algorithm; nodes left over from a cycle go below.
  const indeg = new Map(nodes.map((n) => [n.id, parents.get(n.id).length]));
  const layer = new Map();
  const queue = nodes.filter((n) => indeg.get(n.id) === 0).map((n) => n.id);
  queue.forEach((id) => layer.set(id, 0));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i];
    for (const c of byId.get(id).children || []) {
      if (!ids.has(c) || c === id) continue;
      layer.set(c, Math.max(layer.get(c) ?? 0, layer.get(id) + 1));
      indeg.set(c, indeg.get(c) - 1);
      if (indeg.get(c) === 0) queue.push(c);
    }
  }
  let maxLayer = Math.max(0, ...layer.values());
  for (const n of nodes) if (!layer.has(n.id)) layer.set(n.id, ++maxLayer);
  const layers = [];
  for (const n of nodes) (layers[layer.get(n.id)] ||= []).push(n.id);
  for (let i = 0; i < layers.length; i++) layers[i] ||= [];
  const order = new Map();
  const renumber = (l) => l.forEach((id, i) => order.set(id, i));
  layers.forEach(renumber);
  const children = new Map(nodes.map((n) => [n.id, (n.children || []).filter((c) => ids.has(c))]));
  const bary = (id, nbrs) => {
    const ns = nbrs.get(id);
    return ns.length ? ns.reduce((s, x) => s + order.get(x), 0) / ns.length : order.get(id);
  };
  for (let sweep = 0; sweep < 4; sweep++) {
    const down = sweep % 2 === 0;
    const seq = down ? layers.slice(1) : layers.slice(0, -1).reverse();
    for (const l of seq) {
      const key = new Map(l.map((id) => [id, bary(id, down ? parents : children)]));
      l.sort((a, b) => key.get(a) - key.get(b));
      renumber(l);
    }
  }
  const widest = Math.max(1, ...layers.map((l) => l.length));
  const width = PAD * 2 + widest * W + (widest - 1) * GX;
  const pos = new Map();
  layers.forEach((l, li) => {
    const lw = l.length * W + (l.length - 1) * GX;
    const x0 = (width - lw) / 2;
    l.forEach((id, i) => pos.set(id, { x: x0 + i * (W + GX), y: PAD + li * (H + GY), layer: li }));
  });
  return { pos, edges, width, height: PAD * 2 + layers.length * H + Math.max(0, layers.length - 1) * GY };
}

/**
 * graphNodes turns a run's engine nodes into drawable nodes: the root DAG/Steps node and step
 * groups are elided, their edges passed through, so the picture shows the tasks.
 */
export function graphNodes(runNodes, spec) {
  runNodes = withSpecEdges(runNodes, spec);
  const byId = new Map(runNodes.map((n) => [n.id, n]));
  const childOf = new Set(runNodes.flatMap((n) => n.children || []));
  const hidden = (n) => n.type === 'StepGroup' || ((n.type === 'DAG' || n.type === 'Steps') && !childOf.has(n.id));
  const expand = (ids, seen = new Set()) => ids.flatMap((id) => {
    const n = byId.get(id);
    if (!n || seen.has(id)) return [];
    seen.add(id);
    return hidden(n) ? expand(n.children || [], seen) : [id];
  });
  return runNodes.filter((n) => !hidden(n)).map((n) => ({ ...n, children: expand(n.children || []) }));
}

const baseName = (n) => (n.displayName || n.name || '').replace(/\(.*\)$/, '');

/**
 * withSpecEdges adds the DAG's dependency edges between sibling task nodes. Argo links a task's
 * node to its dependents' nodes; an engine that links every task under its DAG node (Kiln's
 * local engine) leaves the order to the spec, so the spec's graph (from Graph on the server)
 * supplies it. Edges that already exist are kept once.
 */
export function withSpecEdges(runNodes, spec) {
  const nodes = runNodes.map((n) => ({ ...n, children: [...(n.children || [])] }));
  if (!spec) return nodes;
  const dags = new Map(spec.templates.filter((t) => t.kind === 'dag' || t.kind === 'steps').map((t) => [t.name, t.tasks || []]));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const p of nodes) {
    const tasks = dags.get(p.template);
    if (!tasks || !p.children.length) continue;
    const byTask = new Map();
    for (const cid of p.children) {
      const c = byId.get(cid);
      if (c) (byTask.get(baseName(c)) || byTask.set(baseName(c), []).get(baseName(c))).push(cid);
    }
    const hasUpstream = new Set();
    for (const t of tasks) for (const d of t.depends || []) {
      for (const from of byTask.get(d) || []) for (const to of byTask.get(t.name) || []) {
        const f = byId.get(from);
        if (!f.children.includes(to)) f.children.push(to);
        hasUpstream.add(to);
      }
    }
    p.children = p.children.filter((c) => !hasUpstream.has(c));
  }
  return nodes;
}

/** specNodes turns a spec graph's entrypoint into drawable nodes (no phases). */
export function specNodes(spec) {
  const t = spec.templates.find((x) => x.name === spec.entrypoint);
  if (!t) return [];
  const kinds = new Map(spec.templates.map((x) => [x.name, x.kind]));
  if (!t.tasks) return [{ id: t.name, name: t.name, sub: t.kind, children: [] }];
  const children = new Map(t.tasks.map((x) => [x.name, []]));
  for (const x of t.tasks) for (const d of x.depends || []) children.get(d)?.push(x.name);
  return t.tasks.map((x) => ({ id: x.name, name: x.name, children: children.get(x.name),
    sub: `${x.template} (${kinds.get(x.template) || '?'})${x.loop ? ' · loop' : ''}${x.when ? ' · when' : ''}` }));
}

const label = (n) => n.displayName || n.name || n.id;

/**
 * dagView draws nodes and returns {el, update(nodes), select(id)}. update() changes phases and
 * durations in place and lays out again only when the set of nodes or edges changes, so a live
 * run does not jump around.
 */
export function dagView(onSelect) {
  const el = svg('svg', { class: 'dag', role: 'group', 'aria-label': 'Run graph' });
  let shape = '', selected = null;
  const groups = new Map();

  function draw(nodes) {
    const { pos, edges, width, height } = layout(nodes);
    el.setAttribute('width', width); el.setAttribute('height', height);
    el.setAttribute('viewBox', `0 0 ${width} ${height}`);
    fill(el); groups.clear();
    for (const [a, b] of edges) {
      const p = pos.get(a), q = pos.get(b);
      const x1 = p.x + W / 2, y1 = p.y + H, x2 = q.x + W / 2, y2 = q.y, my = (y1 + y2) / 2;
      el.append(svg('path', { class: 'dag-edge', d: `M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2 - 6}`, 'marker-end': 'url(#arrow)' }));
    }
    el.prepend(svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 5, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#8c959f' }))));
    for (const n of nodes) {
      const p = pos.get(n.id);
      const name = svg('text', { x: 14, y: 19, 'font-size': 13, 'font-weight': 600 });
      const sub = svg('text', { x: 14, y: 36, 'font-size': 11, fill: '#57606a' });
      const title = svg('title', {});
      const g = svg('g', { class: 'dag-node', transform: `translate(${p.x},${p.y})`, tabindex: 0, role: 'button', 'data-node': n.id },
        svg('rect', { width: W, height: H, rx: 6 }), svg('rect', { class: 'bar', width: 6, height: H, rx: 3 }), name, sub, title);
      const pick = () => { select(n.id); onSelect(n.id); };
      g.addEventListener('click', pick);
      g.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); pick(); } });
      el.append(g);
      groups.set(n.id, { g, name, sub, title });
    }
  }

  function update(nodes) {
    const s = nodes.map((n) => n.id + '>' + (n.children || []).join(',')).join(';');
    if (s !== shape) { shape = s; draw(nodes); }
    for (const n of nodes) {
      const v = groups.get(n.id);
      const ph = n.sub ? 'none' : (n.phase || 'Pending');
      v.g.setAttribute('class', `dag-node phase-${ph}${n.id === selected ? ' selected' : ''}`);
      const text = label(n);
      v.name.textContent = text.length > 24 ? text.slice(0, 23) + '…' : text;
      const dur = n.startedAt ? fmtDuration(n.startedAt, n.finishedAt) : '';
      v.sub.textContent = n.sub || ph + (dur ? ' · ' + dur : '');
      v.title.textContent = n.sub ? `${text}: ${n.sub}` : `${text} (${n.type}) ${ph}${n.message ? ': ' + n.message : ''}`;
      v.g.setAttribute('aria-label', n.sub ? `${text}: ${n.sub}` : `${text}: ${ph}${dur ? ', ' + dur : ''}`);
    }
  }

  function select(id) {
    selected = id;
    for (const [nid, v] of groups) v.g.classList.toggle('selected', nid === id);
  }
  return { el, update, select };
}
