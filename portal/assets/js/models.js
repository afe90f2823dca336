// models.js: registered models, their versions and aliases, with lineage back to the run.
import { h, fill, api, errorBox, fmtTime, currentPage } from './lib.js';

/** modelsPage is #/models. */
export function modelsPage() {
  const list = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, 'Loading…'));
  api('/models', { query: { pageSize: 500 } }).then((res) => {
    fill(list, h('table', {}, h('thead', {}, h('tr', {}, ['Name', 'Description', 'Updated'].map((c) => h('th', {}, c)))),
      h('tbody', {}, res.models.length ? res.models.map((m) => h('tr', {}, h('td', {}, h('a', { href: '#/models/' + encodeURIComponent(m.name) }, m.name)), h('td', {}, m.description || ''), h('td', {}, fmtTime(m.updatedAt))))
        : h('tr', {}, h('td', { colspan: 3 }, 'No registered models. Register one with the tracking client or `kiln model`.')))));
  }).catch((e) => fill(list, errorBox(e)));
  return h('div', {}, h('h1', {}, 'Models'), list);
}

/** modelPage is #/models/{name}: versions with aliases, source and the run that made them. */
export function modelPage(name) {
  const root = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const enc = encodeURIComponent(name);
  Promise.all([api('/models/' + enc), api(`/models/${enc}/versions`)]).then(([m, vs]) => {
    fill(root, h('p', {}, h('a', { href: '#/models' }, '← Models')), h('h1', {}, m.name), m.description ? h('p', {}, m.description) : '',
      h('h2', {}, 'Versions'),
      h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, ['Version', 'Aliases', 'Status', 'Source', 'Run (lineage)', 'Created'].map((c) => h('th', {}, c)))),
        h('tbody', {}, vs.versions.map((v) => h('tr', {}, h('td', {}, String(v.version)), h('td', {}, (v.aliases || []).join(', ')), h('td', {}, v.status || ''),
          h('td', {}, h('code', {}, v.source || v.artifactId || '')), h('td', {}, v.runId ? h('a', { href: '#/runs/' + v.runId }, v.runId.slice(0, 12)) : ''), h('td', {}, fmtTime(v.createdAt))))))),
      h('h2', {}, 'Serving'), endpoints(name));
  }).catch((e) => fill(root, errorBox(e)));
  return root;
}

/**
 * endpoints shows the serving status of the model's versions tagged kiln.dev/endpoint. The
 * server probes each endpoint's /v2/models/{name}/ready (the browser may not reach the serving
 * network); the table refreshes every 15 s while the page is open, and on demand.
 */
function endpoints(name) {
  const box = h('section', { id: 'endpoints', 'aria-label': 'Serving endpoints' }, h('p', { class: 'muted' }, 'Checking…'));
  const token = currentPage.token;
  let timer;
  const load = async () => {
    clearTimeout(timer);
    if (token !== currentPage.token) return;
    try {
      const res = await api(`/models/${encodeURIComponent(name)}/endpoints`);
      if (token !== currentPage.token) return;
      const refresh = h('button', { type: 'button', onclick: load }, 'Check again');
      if (!res.endpoints.length) {
        fill(box, h('p', { class: 'muted' }, 'No version is served: none carries the tag ', h('code', {}, 'kiln.dev/endpoint'), '.'), refresh);
      } else {
        fill(box, h('div', { class: 'table-wrap' }, h('table', {},
          h('thead', {}, h('tr', {}, ['Version', 'Aliases', 'Endpoint', 'Status', 'Latency', 'Checked'].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, res.endpoints.map((e) => h('tr', { 'data-version': e.version },
            h('td', {}, String(e.version)), h('td', {}, (e.aliases || []).join(', ')),
            h('td', {}, h('code', {}, e.url), e.model !== name ? [' (as ', h('code', {}, e.model), ')'] : ''),
            h('td', { class: 'endpoint-status' }, h('span', { class: 'endpoint-' + e.status }, e.status), e.error ? h('div', { class: 'muted' }, e.error) : ''),
            h('td', { class: 'num' }, e.latencyMs ? e.latencyMs.toFixed(1) + ' ms' : ''), h('td', {}, fmtTime(e.checkedAt))))))), refresh);
      }
      box.dataset.loaded = 'true';
    } catch (e) { fill(box, errorBox(e)); }
    timer = setTimeout(load, 15000);
  };
  window.addEventListener('kiln:leave', () => clearTimeout(timer), { once: true });
  load();
  return box;
}
