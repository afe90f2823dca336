// models.js: registered models, their versions and aliases, with lineage back to the run.
import { h, fill, api, errorBox, fmtTime } from './lib.js';

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
      h('h2', {}, 'Serving'), h('p', { class: 'muted' }, 'The API reports no serving endpoint for this model.'));
  }).catch((e) => fill(root, errorBox(e)));
  return root;
}
