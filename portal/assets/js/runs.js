// runs.js: the runs table (server-paginated, sortable, CEL-filtered, chosen columns, bulk
// actions) and the run page (live DAG, node side panel with logs, params and metric charts).
import { h, fill, api, url, specGraph, errorBox, flash, phase, fmtTime, fmtDuration, fmtNum, terminal, poller, limit, namespace, liveEvents } from './lib.js';
import { nodeArtifacts } from './preview.js';
import { dagView, graphNodes } from './dag.js';
import { lineChart, legend } from './charts.js';

const sortable = { name: 'name', created: 'created_at', started: 'started_at', finished: 'finished_at' };

/**
 * runsTable renders a runs table. opts: {experimentId, pageSize, compare: true to offer compare}.
 * The state (filter, order, columns) lives in the URL query so a view can be linked.
 */
export function runsTable(opts = {}) {
  const key = 'kiln.runs.columns' + (opts.experimentId ? '.' + opts.experimentId : '');
  const st = { filter: opts.filter || '', orderBy: 'created_at desc', view: 'active', tokens: [''], page: 0, columns: localStorage.getItem(key) || '', selected: new Set() };
  const root = h('section', { class: 'runs-table', 'aria-label': 'Runs' });
  const status = h('div', { role: 'status', class: 'muted' });
  const errSlot = h('div');
  const filterInput = h('input', { id: 'run-filter', class: 'grow', value: st.filter, placeholder: 'CEL filter, e.g. phase == "Failed" && metrics.loss < 0.2', 'aria-describedby': 'filter-help' });
  const colsInput = h('input', { id: 'run-columns', value: st.columns, placeholder: 'params.lr, metrics.loss', size: 28 });
  const viewSel = h('select', { id: 'run-view', onchange: () => { st.view = viewSel.value; reset(); } },
    ['active', 'archived', 'all'].map((v) => h('option', { value: v }, v)));
  const tableSlot = h('div', { class: 'table-wrap' });
  const pager = h('div', { class: 'pager' });
  const bulk = h('div', { class: 'row' });

  const form = h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); st.filter = filterInput.value.trim(); st.columns = colsInput.value.trim(); localStorage.setItem(key, st.columns); reset(); } },
    h('label', { for: 'run-filter' }, 'Filter'), filterInput,
    h('label', { for: 'run-columns' }, 'Columns'), colsInput,
    h('label', { for: 'run-view' }, 'Show'), viewSel,
    h('button', { type: 'submit', class: 'primary' }, 'Apply'));
  root.append(form, h('p', { id: 'filter-help', class: 'muted' }, 'Fields: name, phase, created_at, params.X, metrics.X, tags.X; e.g. metrics.accuracy > 0.9 && params.optimizer == "adam".'),
    errSlot, bulk, tableSlot, pager, status);

  function reset() { st.tokens = ['']; st.page = 0; st.selected.clear(); load(); }

  function columns() {
    return st.columns.split(',').map((s) => s.trim()).filter((s) => /^(params|metrics)\.\S+$/.test(s));
  }

  async function load() {
    fill(errSlot);
    root.dataset.loading = 'true';
    status.textContent = 'Loading…';
    const t0 = performance.now();
    let res;
    try {
      const cols = columns();
      // Logged params and metrics come with the page (includeData), not one request per row.
      const includeData = cols.length > 0 ? 'true' : undefined;
      res = await api('/runs', { query: { filter: st.filter, orderBy: st.orderBy, pageSize: opts.pageSize || 50, pageToken: st.tokens[st.page], view: st.view, experimentId: opts.experimentId, includeData } });
    } catch (e) {
      fill(errSlot, errorBox(e));
      status.textContent = '';
      delete root.dataset.loading;
      return;
    }
    if (st.tokens.length === st.page + 1 && res.nextPageToken) st.tokens.push(res.nextPageToken);
    const cols = columns();
    const data = new Map();
    for (const r of res.runs) if (r.data) data.set(r.id, r.data);
    render(res.runs, cols, data);
    status.textContent = `${res.runs.length} runs on page ${st.page + 1}${res.nextPageToken ? '' : ' (last page)'} · ${Math.round(performance.now() - t0)} ms`;
    delete root.dataset.loading;
  }

  function sortButton(label, field) {
    const [cur, dir] = st.orderBy.split(' ');
    const active = cur === field;
    return h('button', {
      class: 'sort', type: 'button', 'aria-label': `Sort by ${label}`,
      onclick: () => { st.orderBy = field + (active && dir !== 'asc' ? ' asc' : ' desc'); reset(); },
    }, label, active ? (dir === 'asc' ? ' ▲' : ' ▼') : '');
  }

  function cell(run, col, data) {
    const [kind, k] = [col.slice(0, col.indexOf('.')), col.slice(col.indexOf('.') + 1)];
    if (kind === 'params') {
      const p = run.parameters?.[k] ?? data.get(run.id)?.params?.find((x) => x.key === k)?.value;
      return h('td', {}, p ?? '');
    }
    const m = data.get(run.id)?.metrics?.find((x) => x.key === k);
    return h('td', { class: 'num' }, m ? fmtNum(m.value) : '');
  }

  function render(runs, cols, data) {
    const all = h('input', { type: 'checkbox', 'aria-label': 'Select all runs on this page', onchange: () => { runs.forEach((r) => (all.checked ? st.selected.add(r.id) : st.selected.delete(r.id))); render(runs, cols, data); } });
    all.checked = runs.length > 0 && runs.every((r) => st.selected.has(r.id));
    const head = h('tr', {}, h('th', {}, all), h('th', {}, sortButton('Name', 'name')), h('th', {}, 'Phase'),
      h('th', {}, sortButton('Created', 'created_at')), h('th', {}, sortButton('Started', 'started_at')), h('th', {}, 'Duration'),
      cols.map((c) => h('th', {}, c.startsWith('metrics.') ? sortButton(c, c) : c)));
    const rows = runs.map((r) => h('tr', { 'data-run': r.id },
      h('td', {}, h('input', { type: 'checkbox', 'aria-label': 'Select ' + r.name, checked: st.selected.has(r.id), onchange: (e) => { e.target.checked ? st.selected.add(r.id) : st.selected.delete(r.id); renderBulk(); } })),
      h('td', {}, h('a', { href: '#/runs/' + r.id }, r.name || r.id)), h('td', {}, phase(r.phase)),
      h('td', {}, fmtTime(r.createdAt)), h('td', {}, fmtTime(r.startedAt)), h('td', {}, fmtDuration(r.startedAt, r.finishedAt)),
      cols.map((c) => cell(r, c, data))));
    fill(tableSlot, h('table', {}, h('caption', { class: 'muted', style: 'text-align:left;padding:4px' }, opts.experimentId ? 'Runs of this experiment' : 'Runs in namespace ' + namespace()),
      h('thead', {}, head), h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: 6 + cols.length }, 'No runs match.')))));
    fill(pager, 
      h('button', { type: 'button', disabled: st.page === 0, onclick: () => { st.page--; load(); } }, '← Previous'),
      h('span', {}, 'Page ' + (st.page + 1)),
      h('button', { type: 'button', disabled: st.tokens.length <= st.page + 1, onclick: () => { st.page++; load(); } }, 'Next →'));
    renderBulk();
  }

  function renderBulk() {
    const ids = [...st.selected];
    const act = (label, path, cls) => h('button', { type: 'button', class: cls, disabled: !ids.length, onclick: async () => {
      const res = await limit(4, ids, (id) => api(`/runs/${id}/${path}`, { method: 'POST' }));
      const bad = res.filter((r) => r instanceof Error);
      flash(`${label}: ${ids.length - bad.length} done${bad.length ? `, ${bad.length} failed (${bad[0].message})` : ''}`);
      st.selected.clear(); load();
    } }, `${label} (${ids.length})`);
    fill(bulk, act('Cancel', 'cancel', 'danger'), act('Archive', 'archive'), act('Restore', 'unarchive'),
      h('a', { class: 'button', href: '#/compare?ids=' + ids.join(','), 'aria-disabled': String(ids.length < 2), onclick: (e) => { if (ids.length < 2) { e.preventDefault(); flash('Select at least two runs to compare.'); } } }, `Compare (${ids.length})`));
  }

  load();
  return root;
}

/** runsPage is #/runs. */
export function runsPage(query) {
  return h('div', {}, h('h1', {}, 'Runs'), runsTable({ filter: query.get('filter') || '' }));
}

/** runPage is #/runs/{id}: the live graph, node side panel, params, metrics and actions. */
export function runPage(id) {
  const root = h('div', { class: 'run-page' });
  const head = h('div');
  const graph = h('div', { class: 'graph' });
  const side = h('aside', { class: 'panel', 'aria-label': 'Node details' }, h('p', { class: 'muted' }, 'Select a node to see its inputs, outputs and logs.'));
  const below = h('div');
  let run = null, nodes = [], selectedNode = null, logCtl = null, specP = null, progress = '';
  const dag = dagView((nid) => showNode(nid));
  const graphMsg = h('p', { class: 'muted', style: 'padding:12px', hidden: true });
  graph.append(graphMsg, dag.el);
  root.append(head, h('div', { class: 'layout-run' }, graph, side), below);

  /** fetchRun reads the run once (first load, after an action, and when polling). */
  async function fetchRun() {
    return applyRun(await api('/runs/' + id));
  }

  /** applyRun renders a run (with its nodes); it returns whether anything changed. */
  async function applyRun(r) {
    const sig = JSON.stringify([r.phase, r.message, r.finishedAt, r.nodes?.map((n) => [n.id, n.phase, n.finishedAt, n.children])]);
    const changed = sig !== applyRun.sig;
    applyRun.sig = sig;
    run = r;
    // The spec's task graph orders tasks that the engine reports only under their DAG node.
    specP ||= r.pipelineVersionId ? api('/pipeline-versions/' + r.pipelineVersionId).then((v) => specGraph(v.spec)).catch(() => null) : Promise.resolve(null);
    const spec = await specP;
    if (r !== run) return changed; // a newer state arrived while the spec loaded
    nodes = graphNodes(r.nodes || [], spec);
    renderHead();
    dag.update(nodes);
    // Toggle the placeholder without moving the SVG, so keyboard focus on a node survives updates.
    graphMsg.textContent = nodes.length ? '' : run.pipelineVersionId ? 'The engine has not reported the graph yet.' : 'A tracking-only run has no graph.';
    graphMsg.hidden = nodes.length > 0;
    if (selectedNode && changed) showNode(selectedNode, true);
    root.dataset.phase = r.phase;
    return changed;
  }

  // Events arrive in bursts (one per changed node); render once per burst.
  let applying = null;
  function scheduleApply() {
    applying ||= new Promise((res) => setTimeout(res, 30)).then(() => { applying = null; return applyRun(run); });
    return applying;
  }

  /**
   * startLive follows the run through GET /runs/{id}/events: a snapshot, then node and run
   * changes as the store sees them, until "end". Polling is only the fallback.
   */
  let live = null;
  function startLive() {
    live?.close();
    poll?.stop();
    root.dataset.live = 'events';
    const setRun = (d) => { progress = d.progress || progress; run = { ...d.run, nodes: d.run.nodes || run?.nodes || [] }; };
    live = liveEvents(`/runs/${id}/events`, {
      snapshot: (d) => { setRun(d); scheduleApply(); },
      node: (n) => {
        const list = run.nodes || (run.nodes = []);
        const i = list.findIndex((x) => x.id === n.id);
        if (i >= 0) list[i] = n; else list.push(n);
        run = { ...run };
        scheduleApply();
      },
      run: (d) => { setRun(d); scheduleApply(); },
      end: (d) => { setRun(d); root.dataset.live = 'ended'; scheduleApply().then(loadData); },
      deleted: () => { root.dataset.live = 'ended'; flash('This run was deleted.'); },
      fallback: () => { root.dataset.live = 'polling'; startPolling(); },
    });
  }

  function renderHead() {
    const actions = [];
    if (!terminal(run.phase)) actions.push(h('button', { id: 'run-cancel', class: 'danger', onclick: () => act('cancel') }, 'Cancel'));
    if (['Failed', 'Error', 'Cancelled'].includes(run.phase)) actions.push(h('button', { id: 'run-retry', onclick: () => act('retry') }, 'Retry'));
    actions.push(h('button', { onclick: () => act(run.archived ? 'unarchive' : 'archive') }, run.archived ? 'Restore' : 'Archive'));
    fill(head, 
      h('p', {}, h('a', { href: '#/runs' }, '← Runs'), run.experimentId ? [' · ', h('a', { href: '#/experiments/' + run.experimentId }, 'Experiment')] : '',
        run.pipelineId ? [' · ', h('a', { href: '#/pipelines/' + run.pipelineId }, 'Pipeline')] : ''),
      h('div', { class: 'row' }, h('h1', { class: 'grow' }, run.name || run.id, ' ', h('span', { id: 'run-phase' }, phase(run.phase))), actions),
      h('dl', { class: 'kv' }, h('dt', {}, 'ID'), h('dd', {}, h('code', {}, run.id)),
        h('dt', {}, 'Created'), h('dd', {}, fmtTime(run.createdAt), run.createdBy ? ' by ' + run.createdBy : ''),
        h('dt', {}, 'Duration'), h('dd', {}, fmtDuration(run.startedAt, run.finishedAt)),
        progress ? [h('dt', {}, 'Progress'), h('dd', { id: 'run-progress' }, progress + ' tasks done')] : '',
        run.message ? [h('dt', {}, 'Message'), h('dd', {}, run.message)] : ''));
  }

  async function act(verb) {
    try { await api(`/runs/${id}/${verb}`, { method: 'POST' }); flash(`Run ${verb} requested.`); } catch (e) { flash(e.message); }
    await fetchRun();
    if (!terminal(run.phase)) startLive();
  }

  function showNode(nid, refresh) {
    selectedNode = nid;
    dag.select(nid);
    const n = run.nodes.find((x) => x.id === nid);
    if (!n) return;
    const logs = h('pre', { class: 'logs', id: 'node-logs', 'aria-label': 'Logs of ' + (n.displayName || n.name), tabindex: 0 });
    if (refresh && side.dataset.node === nid) {
      // Keep the log stream; refresh only the status part.
      side.querySelector('.node-status')?.replaceWith(nodeStatus(n));
      side.querySelector('.node-outputs')?.replaceWith(jsonBlock('Outputs', n.outputs, 'node-outputs'));
      const arts = side.querySelector('.node-artifacts');
      const fresh = nodeArtifacts(id, n);
      if (arts && arts.dataset.names !== fresh.dataset.names) arts.replaceWith(fresh);
      if (terminal(n.phase) && side.dataset.following === 'true') streamLogs(n, side.querySelector('#node-logs'));
      return;
    }
    side.dataset.node = nid;
    const nodeArts = h('div', {}, h('p', { class: 'muted' }, 'None registered.'));
    api('/artifacts', { query: { runId: id, pageSize: 200 } }).then((r) => {
      const mine = r.artifacts.filter((a) => a.nodeId === nid || a.nodeId === n.name);
      if (mine.length) fill(nodeArts, artifactsTable(mine));
    }).catch(() => {});
    fill(side, h('h2', {}, n.displayName || n.name), nodeStatus(n), jsonBlock('Inputs', n.inputs, 'node-inputs'),
      jsonBlock('Outputs', n.outputs, 'node-outputs'), h('h3', {}, 'Output artifacts'), nodeArtifacts(id, n),
      h('h3', {}, 'Registered artifacts'), nodeArts, h('h3', {}, 'Logs'), logs);
    if (n.type === 'Pod') streamLogs(n, logs);
    else logs.textContent = '(no logs: a ' + n.type + ' node runs no process)';
  }

  async function streamLogs(n, pre) {
    logCtl?.abort();
    const ctl = new AbortController();
    logCtl = ctl;
    const follow = !terminal(n.phase);
    side.dataset.following = String(follow);
    pre.textContent = '';
    try {
      const res = await api(`/runs/${id}/nodes/${encodeURIComponent(n.id)}/logs`, { query: { follow }, raw: true, signal: ctl.signal });
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        pre.append(dec.decode(value, { stream: true }));
        if (stick) pre.scrollTop = pre.scrollHeight;
      }
      if (!pre.textContent) pre.textContent = '(empty log)';
      side.dataset.following = 'false';
    } catch (e) {
      if (e.name !== 'AbortError') pre.textContent += '\n[logs unavailable: ' + e.message + ']';
    }
  }

  let poll = null;
  function startPolling() {
    poll?.stop();
    poll = poller(async () => {
      const changed = await fetchRun();
      if (terminal(run.phase)) { loadData(); return true; }
      return changed ? 'changed' : 'same';
    }, { min: 1000, max: 5000 });
  }

  async function loadData() {
    let data, arts;
    try {
      [data, arts] = await Promise.all([api(`/runs/${id}/data`), api('/artifacts', { query: { runId: id, pageSize: 200 } })]);
    } catch (e) { fill(below, errorBox(e)); return; }
    const params = Object.entries(run.parameters || {});
    const metricKeys = [...new Set(data.metrics.map((m) => m.key))];
    const charts = h('div', { class: 'cards' });
    fill(below, 
      h('h2', {}, 'Pipeline inputs'), params.length ? kvTable(params) : h('p', { class: 'muted' }, 'None.'),
      h('h2', {}, 'Logged params'), data.params.length ? kvTable(data.params.map((p) => [p.key, p.value])) : h('p', { class: 'muted' }, 'None.'),
      h('h2', {}, 'Metrics'), data.metrics.length ? kvTable(data.metrics.map((m) => [m.key, fmtNum(m.value) + ' (step ' + m.step + ')'])) : h('p', { class: 'muted' }, 'None.'),
      charts,
      h('h2', {}, 'Artifacts'), arts.artifacts.length ? artifactsTable(arts.artifacts) : h('p', { class: 'muted' }, 'None registered.'),
      data.tags.length ? [h('h2', {}, 'Tags'), kvTable(data.tags.map((t) => [t.key, t.value]))] : '');
    for (const k of metricKeys.slice(0, 12)) {
      const hist = await api(`/runs/${id}/metrics/${encodeURIComponent(k)}/history`, { query: { maxPoints: 500 } });
      charts.append(h('figure', { class: 'card' }, h('figcaption', {}, k), lineChart([{ name: k, points: hist.metrics.map((m) => ({ x: m.step, y: m.value })) }], { width: 340, height: 180, xLabel: 'step' })));
    }
  }

  window.addEventListener('kiln:leave', () => { logCtl?.abort(); poll?.stop(); live?.close(); }, { once: true });
  (async () => {
    try { await fetchRun(); } catch (e) { fill(root, errorBox(e)); return; }
    if (!terminal(run.phase)) startLive();
    loadData();
  })();
  return root;
}

function nodeStatus(n) {
  return h('dl', { class: 'kv node-status' }, h('dt', {}, 'Phase'), h('dd', {}, phase(n.phase)), h('dt', {}, 'Type'), h('dd', {}, n.type),
    n.template ? [h('dt', {}, 'Template'), h('dd', {}, n.template)] : '',
    h('dt', {}, 'Started'), h('dd', {}, fmtTime(n.startedAt)), h('dt', {}, 'Duration'), h('dd', {}, fmtDuration(n.startedAt, n.finishedAt)),
    n.message ? [h('dt', {}, 'Message'), h('dd', {}, n.message)] : '');
}

function jsonBlock(title, v, cls) {
  const empty = !v || (typeof v === 'object' && !Object.keys(v).length);
  return h('div', { class: cls }, h('h3', {}, title), empty ? h('p', { class: 'muted' }, 'None.') : h('pre', {}, JSON.stringify(v, null, 2)));
}

/** kvTable renders [key, value] pairs. */
export function kvTable(pairs) {
  return h('div', { class: 'table-wrap' }, h('table', {}, h('tbody', {}, pairs.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v))))));
}

function artifactsTable(as) {
  return h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, ['Name', 'Type', 'Node', 'Size', 'URI'].map((c) => h('th', {}, c)))),
    h('tbody', {}, as.map((a) => h('tr', {}, h('td', {}, a.name), h('td', {}, a.type || ''), h('td', {}, a.nodeId || ''), h('td', { class: 'num' }, a.size ? a.size + ' B' : ''), h('td', {}, h('code', {}, a.uri)))))));
}

export { url };
