// experiments.js: experiments list, an experiment's runs and metric charts, sweeps, and the
// compare page (diff table, overlaid curves, parallel coordinates).
import { h, fill, api, errorBox, flash, fmtTime, fmtNum, phase } from './lib.js';
import { runsTable } from './runs.js';
import { lineChart, legend, parallelCoords } from './charts.js';

/** experimentsPage is #/experiments. */
export function experimentsPage() {
  const list = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, 'Loading…'));
  const err = h('div');
  const name = h('input', { id: 'exp-name', required: true });
  const form = h('form', { class: 'row', onsubmit: async (e) => {
    e.preventDefault(); fill(err);
    try { const x = await api('/experiments', { method: 'POST', body: { name: name.value } }); location.hash = '#/experiments/' + x.id; } catch (ex) { fill(err, errorBox(ex)); }
  } }, h('label', { for: 'exp-name' }, 'New experiment'), name, h('button', { type: 'submit' }, 'Create'));
  api('/experiments', { query: { pageSize: 500 } }).then((res) => {
    fill(list, h('table', {}, h('thead', {}, h('tr', {}, ['Name', 'Description', 'Created'].map((c) => h('th', {}, c)))),
      h('tbody', {}, res.experiments.length ? res.experiments.map((x) => h('tr', {}, h('td', {}, h('a', { href: '#/experiments/' + x.id }, x.name)), h('td', {}, x.description || ''), h('td', {}, fmtTime(x.createdAt))))
        : h('tr', {}, h('td', { colspan: 3 }, 'No experiments.')))));
  }).catch((e) => fill(list, errorBox(e)));
  return h('div', {}, h('h1', {}, 'Experiments'), list, h('h2', {}, 'Create'), form, err);
}

/** experimentPage is #/experiments/{id}. */
export function experimentPage(id) {
  const root = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  api('/experiments/' + id).then((x) => {
    fill(root, h('p', {}, h('a', { href: '#/experiments' }, '← Experiments')), h('h1', {}, x.name), x.description ? h('p', {}, x.description) : '',
      runsTable({ experimentId: id, pageSize: 50 }), h('h2', {}, 'Metric charts (ten newest runs)'), experimentCharts(id),
      h('h2', {}, 'Sweep view'), sweep(id));
  }).catch((e) => fill(root, errorBox(e)));
  return root;
}

/**
 * sweep shows the trials of an experiment ranked by an objective metric (server-side order by
 * metrics.<key>), the best trial, and the objective over trials in creation order.
 */
function sweep(experimentId) {
  const box = h('div');
  const metric = h('input', { id: 'sweep-metric', placeholder: 'objective metric, e.g. loss', required: true });
  const dir = h('select', { id: 'sweep-dir' }, h('option', { value: 'asc' }, 'minimise'), h('option', { value: 'desc' }, 'maximise'));
  const out = h('div');
  const form = h('form', { class: 'row', onsubmit: async (e) => {
    e.preventDefault();
    const k = metric.value.trim();
    try {
      const [best, all] = await Promise.all([
        api('/runs', { query: { experimentId, orderBy: `metrics.${k} ${dir.value}`, pageSize: 20 } }),
        // Latest metrics come with the page (includeData): one request, not one per trial.
        api('/runs', { query: { experimentId, orderBy: 'created_at asc', pageSize: 500, includeData: true } }),
      ]);
      const pts = [];
      all.runs.forEach((r, i) => { const m = r.data?.metrics?.find((x) => x.key === k); if (m) pts.push({ x: i + 1, y: m.value }); });
      const bestRun = best.runs[0];
      fill(out, 
        bestRun ? h('p', {}, 'Best trial: ', h('a', { href: '#/runs/' + bestRun.id }, bestRun.name || bestRun.id)) : h('p', {}, 'No trials.'),
        h('figure', { class: 'card' }, h('figcaption', {}, `${k} over trials, with the best so far`),
          lineChart([{ name: k, points: pts }, { name: 'best so far', points: bestSoFar(pts, dir.value === 'asc') }], { xLabel: 'trial', label: `${k} over trials` }),
          legend([k, 'best so far'])),
        h('p', { class: 'muted' }, `Top ${best.runs.length} trials by ${k}:`),
        h('ol', {}, best.runs.map((r) => h('li', {}, h('a', { href: '#/runs/' + r.id }, r.name || r.id), ' ', phase(r.phase)))));
    } catch (ex) { fill(out, errorBox(ex)); }
  } }, h('label', { for: 'sweep-metric' }, 'Objective'), metric, dir, h('button', { type: 'submit' }, 'Show'));
  box.append(form, out);
  return box;
}

/**
 * metricCurves overlays one metric of several runs (histories downsampled by the server to 1000
 * points) with a metric picker, log scale and smoothing. Returns {el, draw}.
 */
export function metricCurves(ids, names, keys, prefix) {
  const chartBox = h('div');
  const keySel = h('select', { id: prefix + '-metric' }, keys.map((k) => h('option', { value: k }, k)));
  const logY = h('input', { type: 'checkbox', id: prefix + '-log' });
  const smoothing = h('input', { type: 'range', id: prefix + '-smooth', min: 0, max: 0.95, step: 0.05, value: 0 });
  const draw = async () => {
    const k = keySel.value;
    if (!k) { fill(chartBox, h('p', { class: 'muted' }, 'No metrics logged.')); return; }
    const hs = await Promise.all(ids.map((id) => api(`/runs/${id}/metrics/${encodeURIComponent(k)}/history`, { query: { maxPoints: 1000 } }).catch(() => ({ metrics: [] }))));
    fill(chartBox, lineChart(hs.map((hh, i) => ({ name: names[i], points: hh.metrics.map((m) => ({ x: m.step, y: m.value })) })),
      { width: 720, height: 300, logY: logY.checked, smoothing: Number(smoothing.value), xLabel: 'step', label: `${k} of ${names.join(', ')}` }), legend(names));
  };
  [keySel, logY, smoothing].forEach((el) => el.addEventListener('change', draw));
  const el = h('div', {}, h('div', { class: 'row' }, h('label', { for: prefix + '-metric' }, 'Metric'), keySel, logY, h('label', { for: prefix + '-log' }, 'Log scale'),
    h('label', { for: prefix + '-smooth' }, 'Smoothing'), smoothing), h('div', { class: 'table-wrap' }, chartBox));
  return { el, draw };
}

/** experimentCharts overlays a metric of the experiment's ten newest runs. */
function experimentCharts(experimentId) {
  const box = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  (async () => {
    const rs = await api('/runs', { query: { experimentId, pageSize: 10, includeData: true } });
    const keys = [...new Set(rs.runs.flatMap((r) => (r.data?.metrics || []).map((m) => m.key)))].sort();
    const c = metricCurves(rs.runs.map((r) => r.id), rs.runs.map((r) => r.name || r.id.slice(0, 8)), keys, 'exp');
    fill(box, c.el);
    await c.draw();
  })().catch((e) => fill(box, errorBox(e)));
  return box;
}

/** bestSoFar is the running minimum (or maximum) of an objective over trials. */
function bestSoFar(pts, minimise) {
  let best;
  return pts.map((p) => {
    best = best === undefined || (minimise ? p.y < best : p.y > best) ? p.y : best;
    return { x: p.x, y: best };
  });
}

/** comparePage is #/compare?ids=a,b,…: differences, overlaid metric curves, parallel coordinates. */
export function comparePage(query) {
  const ids = (query.get('ids') || '').split(',').filter(Boolean);
  const root = h('div', {}, h('h1', {}, 'Compare runs'), h('p', { class: 'muted' }, 'Loading…'));
  if (ids.length < 2) { fill(root, h('h1', {}, 'Compare runs'), h('p', {}, 'Select two or more runs in a runs table and choose Compare.')); return root; }
  (async () => {
    let runs, datas;
    try {
      // One list request with the runs' data, whatever the number of runs compared.
      const res = await api('/runs', { query: { filter: `id in [${ids.map((x) => JSON.stringify(x)).join(', ')}]`, view: 'all', pageSize: ids.length, includeData: true } });
      const byId = new Map(res.runs.map((r) => [r.id, r]));
      const missing = ids.filter((x) => !byId.has(x));
      if (missing.length) throw new Error(`runs not found in this namespace: ${missing.join(', ')}`);
      runs = ids.map((x) => byId.get(x));
      datas = runs.map((r) => r.data || { params: [], metrics: [], tags: [] });
    } catch (e) { root.append(errorBox(e)); return; }
    const names = runs.map((r) => r.name || r.id.slice(0, 8));
    const rows = [];
    const keys = (f) => [...new Set(datas.flatMap(f))].sort();
    for (const k of keys((d, i) => Object.keys(runs[i]?.parameters || {}))) rows.push(['input ' + k, runs.map((r) => r.parameters?.[k] ?? '')]);
    for (const k of keys((d) => d.params.map((p) => p.key))) rows.push(['param ' + k, datas.map((d) => d.params.find((p) => p.key === k)?.value ?? '')]);
    const metricKeys = keys((d) => d.metrics.map((m) => m.key));
    for (const k of metricKeys) rows.push(['metric ' + k, datas.map((d) => d.metrics.find((m) => m.key === k)?.value ?? '')]);
    rows.unshift(['phase', runs.map((r) => r.phase)]);
    const onlyDiff = h('input', { type: 'checkbox', id: 'only-diff' });
    const table = h('div', { class: 'table-wrap' });
    const drawTable = () => fill(table, h('table', { id: 'compare-table' },
      h('thead', {}, h('tr', {}, h('th', {}, ''), runs.map((r, i) => h('th', {}, h('a', { href: '#/runs/' + r.id }, names[i]))))),
      h('tbody', {}, rows.filter(([, vs]) => !onlyDiff.checked || new Set(vs.map(String)).size > 1).map(([k, vs]) => {
        const differs = new Set(vs.map(String)).size > 1;
        return h('tr', { class: differs ? 'diff' : '' }, h('th', { scope: 'row' }, k, differs ? h('span', { class: 'muted' }, ' (differs)') : ''), vs.map((v) => h('td', { class: typeof v === 'number' ? 'num' : '' }, typeof v === 'number' ? fmtNum(v) : v)));
      }))));
    onlyDiff.addEventListener('change', drawTable);
    drawTable();

    // Overlaid curves.
    const curves = metricCurves(ids, names, metricKeys, 'compare');

    // Parallel coordinates over numeric inputs/params and metrics.
    const dims = [];
    const pcRows = runs.map((r, i) => ({ name: names[i], values: {} }));
    for (const [k, vs] of rows) {
      if (k === 'phase') continue;
      const nums = vs.map((v) => (v === '' ? NaN : Number(v)));
      if (nums.some(Number.isFinite)) { dims.push(k.replace(/^(input|param|metric) /, '')); nums.forEach((n, i) => { pcRows[i].values[dims.at(-1)] = n; }); }
    }
    fill(root, h('h1', {}, 'Compare runs'), h('p', {}, `${runs.length} runs.`),
      h('div', { class: 'row' }, onlyDiff, h('label', { for: 'only-diff' }, 'Only rows that differ')), table,
      h('h2', {}, 'Metric curves'), curves.el,
      h('h2', {}, 'Parallel coordinates'), dims.length ? [h('div', { class: 'table-wrap' }, parallelCoords(pcRows, dims)), legend(names)] : h('p', { class: 'muted' }, 'No numeric params or metrics.'));
    await curves.draw();
    root.dataset.loaded = 'true';
  })();
  return root;
}

export { flash };
