// preview.js: a node's output artifacts in the side panel, each with a download link and a
// preview read through GET /runs/{id}/nodes/{node}/artifacts/{name}?maxBytes=N: CSV as a table
// of the first rows, metrics as a table, other JSON pretty-printed, text as text, images as
// images, directories and archives as a list of entries that open the same way.
import { h, fill, api, url, fmtNum, errorBox } from './lib.js';

/** previewBytes bounds what a preview reads; the server cuts the rest (X-Kiln-Truncated). */
export const previewBytes = 64 << 10;
const maxImageBytes = 8 << 20;
const maxJSONBytes = 2 << 20;
const maxRows = 20;

/** nodeArtifacts lists the output artifacts the engine reported for node n of run runId. */
export function nodeArtifacts(runId, n) {
  const arts = n.outputs?.artifacts || [];
  const box = h('div', { class: 'node-artifacts', 'data-names': arts.map((a) => a.name).join(',') });
  if (!arts.length) {
    box.append(h('p', { class: 'muted' }, n.type === 'Pod' ? 'None reported.' : 'None: a ' + n.type + ' node has no outputs of its own.'));
    return box;
  }
  for (const a of arts) {
    const path = `/runs/${runId}/nodes/${encodeURIComponent(n.id)}/artifacts/${encodeURIComponent(a.name)}`;
    const slot = h('div', { class: 'preview', 'aria-live': 'polite' });
    const btn = h('button', { type: 'button', class: 'artifact-preview', 'aria-expanded': 'false', 'aria-label': 'Preview ' + a.name, onclick: () => {
      const open = btn.getAttribute('aria-expanded') === 'true';
      btn.setAttribute('aria-expanded', String(!open));
      btn.textContent = open ? 'Preview' : 'Hide';
      if (open) fill(slot); else showPreview(path, a.name, slot);
    } }, 'Preview');
    box.append(h('div', { class: 'artifact', 'data-artifact': a.name },
      h('div', { class: 'row' }, h('strong', { class: 'grow' }, a.name), btn, h('a', { class: 'button', href: url(path), download: a.name }, 'Download')), slot));
  }
  return box;
}

/** showPreview fetches the start of an artifact (or one entry of it) and renders it by type. */
export async function showPreview(path, name, slot, entry) {
  fill(slot, h('p', { class: 'muted' }, 'Loading…'));
  try {
    let res = await api(path, { query: { maxBytes: previewBytes, entry }, raw: true });
    const kind = res.headers.get('X-Kiln-Artifact-Kind') || 'file';
    if (kind !== 'file') { renderListing(path, await res.json(), slot); slot.dataset.kind = 'listing'; return; }
    const ct = (res.headers.get('Content-Type') || '').split(';')[0].trim().toLowerCase();
    let truncated = res.headers.get('X-Kiln-Truncated') === 'true';
    const size = Number(res.headers.get('X-Kiln-Artifact-Size') || 0);
    const file = entry || name;
    if (ct.startsWith('image/')) {
      // A cut image does not decode: read it whole when it is of a sensible size.
      if (truncated && size <= maxImageBytes) { res = await api(path, { query: { entry }, raw: true }); truncated = false; }
      if (truncated) { show(slot, 'image', note(ct, size, truncated), h('p', {}, 'Too large to preview; download it.')); return; }
      const src = URL.createObjectURL(await res.blob());
      show(slot, 'image', note(ct, size, false), h('img', { src, alt: 'Preview of ' + file }));
      return;
    }
    let text = await res.text();
    // A cut JSON document does not parse: read it whole when it is of a sensible size.
    if (truncated && size <= maxJSONBytes && (ct.includes('json') || /^\s*[{[]/.test(text))) {
      text = await (await api(path, { query: { entry }, raw: true })).text();
      truncated = false;
    }
    const rendered = render(text, ct, file, truncated);
    show(slot, rendered.kind, note(ct, size, truncated), rendered.el);
  } catch (e) {
    fill(slot, errorBox(e));
    slot.dataset.kind = 'error';
  }
}

function show(slot, kind, ...els) {
  fill(slot, ...els);
  slot.dataset.kind = kind;
}

function note(ct, size, truncated) {
  const parts = [ct || 'unknown type'];
  if (size) parts.push(size.toLocaleString() + ' bytes');
  if (truncated) parts.push(`preview of the first ${previewBytes.toLocaleString()} bytes`);
  return h('p', { class: 'muted preview-note' }, parts.join(' · '));
}

/** render picks the preview of a text artifact: CSV/TSV, metrics, JSON, or text. */
export function render(text, ct, file, truncated) {
  const ext = (file.match(/\.([a-z0-9]+)$/i)?.[1] || '').toLowerCase();
  if (ct.includes('csv') || ext === 'csv' || ext === 'tsv' || ct.includes('tab-separated')) {
    const rows = parseCSV(text, ext === 'tsv' || ct.includes('tab-separated') ? '\t' : ',', truncated);
    if (rows.length) return { kind: 'csv', el: csvTable(rows) };
  }
  if (ct.includes('json') || ext === 'json' || /^\s*[{[]/.test(text)) {
    let v;
    try { v = JSON.parse(text); } catch { v = undefined; }
    if (v !== undefined) {
      const m = metricRows(v);
      if (m.length) return { kind: 'metrics', el: h('div', {}, metricsTable(m), h('details', {}, h('summary', {}, 'JSON'), h('pre', {}, JSON.stringify(v, null, 2)))) };
      return { kind: 'json', el: h('pre', { class: 'json' }, JSON.stringify(v, null, 2)) };
    }
  }
  // Engines store artifacts under names without extensions and a sniffed text/plain type:
  // text whose first lines split into the same number (≥ 2) of comma fields is CSV.
  const lines = text.split('\n', 6).filter((l) => l.trim());
  if (lines.length >= 2 && !ct.startsWith('image/')) {
    const n = parseCSV(lines[0] + '\n')[0]?.length || 0;
    const probe = parseCSV(lines.slice(0, truncated ? -1 : undefined).join('\n') + '\n');
    if (n >= 2 && probe.length >= 2 && probe.every((r) => r.length === n)) return { kind: 'csv', el: csvTable(parseCSV(text, ',', truncated)) };
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000e-\u001f]/.test(text.slice(0, 4096))) return { kind: 'binary', el: h('p', {}, 'Binary content; download it.') };
  return { kind: 'text', el: h('pre', {}, text) };
}

/** parseCSV reads quoted CSV; a cut-off last line of a truncated preview is dropped. */
export function parseCSV(text, sep = ',', truncated = false) {
  const rows = [];
  let row = [], field = '', quoted = false, i = 0;
  for (; i < text.length && rows.length <= maxRows; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === sep) { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if ((field || row.length) && !(truncated && i >= text.length)) { row.push(field); rows.push(row); }
  return rows.slice(0, maxRows + 1);
}

function csvTable(rows) {
  const [head, ...body] = rows;
  return h('div', { class: 'table-wrap' }, h('table', { class: 'csv' },
    h('caption', { class: 'muted' }, `First ${body.length} rows`),
    h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, body.map((r) => h('tr', {}, r.map((c) => h('td', { class: c !== '' && Number.isFinite(Number(c)) ? 'num' : '' }, c)))))));
}

/**
 * metricRows finds metrics in a JSON value: an object of numbers (nested objects give dotted
 * names), a list of {name|key, value|numberValue}, or KFP's {"metrics": [...]}. Anything where
 * numbers are not most of the leaves is not a metrics document.
 */
export function metricRows(v) {
  const list = Array.isArray(v) ? v : Array.isArray(v?.metrics) ? v.metrics : null;
  if (list) {
    const rows = list.filter((m) => m && typeof m === 'object' && (m.name ?? m.key) !== undefined && typeof (m.value ?? m.numberValue) === 'number')
      .map((m) => [String(m.name ?? m.key), m.value ?? m.numberValue]);
    return rows.length && rows.length === list.length ? rows : [];
  }
  if (!v || typeof v !== 'object') return [];
  const rows = [];
  let leaves = 0;
  const walk = (o, prefix, depth) => {
    for (const [k, x] of Object.entries(o)) {
      if (x && typeof x === 'object' && !Array.isArray(x) && depth < 3) walk(x, prefix + k + '.', depth + 1);
      else { leaves++; if (typeof x === 'number') rows.push([prefix + k, x]); }
    }
  };
  walk(v, '', 0);
  return rows.length && rows.length * 2 > leaves ? rows : [];
}

function metricsTable(rows) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'metrics' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Metric'), h('th', { scope: 'col' }, 'Value'))),
    h('tbody', {}, rows.map(([k, x]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', { class: 'num' }, fmtNum(x)))))));
}

function renderListing(path, listing, slot) {
  const inner = h('div', { class: 'preview' });
  fill(slot, h('p', { class: 'muted preview-note' }, `${listing.kind} of ${listing.entries.length} files${listing.truncated ? ' (list cut short)' : ''}`),
    h('ul', { class: 'entries' }, listing.entries.map((e) => h('li', {},
      h('button', { type: 'button', class: 'link', onclick: () => showPreview(path, listing.name, inner, e.path) }, e.path), ' ',
      h('span', { class: 'muted' }, e.size.toLocaleString() + ' B'), ' ',
      h('a', { href: url(path, { entry: e.path }), download: e.path.split('/').pop() }, 'download')))),
    inner);
}
