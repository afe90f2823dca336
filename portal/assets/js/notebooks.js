// notebooks.js: notebook servers: list with status and last activity, create form, connect,
// stop/start/delete, events and logs. It uses the notebooks API (/api/v1/notebooks/{ns}).
import { h, fill, api, errorBox, flash, fmtTime, phase, notebooksURL, namespace, poller } from './lib.js';

/** notebooksPage is #/notebooks. */
export function notebooksPage() {
  const list = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, 'Loading…'));
  const err = h('div');
  const field = (id, label, attrs, hint) => h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, name: id.replace('nb-', ''), ...attrs }), hint ? h('span', { class: 'hint' }, hint) : '');
  const form = h('form', { class: 'stack', id: 'notebook-form', onsubmit: create },
    field('nb-name', 'Name', { required: true, pattern: '[a-z0-9]([-a-z0-9]*[a-z0-9])?', title: 'lowercase letters, digits and dashes' }),
    field('nb-image', 'Image', { placeholder: 'e.g. quay.io/jupyter/scipy-notebook' }, 'Leave empty on the local spawner, which runs the installed Jupyter.'),
    h('div', { class: 'row' }, field('nb-cpu', 'CPU', { placeholder: '1', size: 6 }), field('nb-memory', 'Memory', { placeholder: '2Gi', size: 8 }),
      field('nb-gpu', 'GPUs', { type: 'number', min: 0, value: 0, style: 'width:6em' }), field('nb-workspace', 'Workspace size', { placeholder: '10Gi', size: 8 }),
      field('nb-idle', 'Idle timeout', { placeholder: '30m', size: 8 })),
    err, h('div', {}, h('button', { type: 'submit', class: 'primary' }, 'Create notebook')));

  async function create(e) {
    e.preventDefault(); fill(err);
    const v = (id) => form.querySelector('#' + id).value.trim();
    const spec = { resources: {}, workspace: {} };
    if (v('nb-image')) spec.image = v('nb-image');
    if (v('nb-cpu')) spec.resources.cpu = v('nb-cpu');
    if (v('nb-memory')) spec.resources.memory = v('nb-memory');
    if (Number(v('nb-gpu')) > 0) spec.resources.gpu = Number(v('nb-gpu'));
    if (v('nb-workspace')) spec.workspace.size = v('nb-workspace');
    if (v('nb-idle')) spec.idleTimeout = v('nb-idle');
    try {
      await api(notebooksURL(), { method: 'POST', body: { name: v('nb-name'), spec } });
      flash(`Notebook ${v('nb-name')} created.`);
      location.hash = '#/notebooks/' + encodeURIComponent(v('nb-name'));
    } catch (ex) { fill(err, errorBox(ex)); }
  }

  const load = async () => {
    const res = await api(notebooksURL());
    const nbs = res.notebooks || [];
    fill(list, h('table', {}, h('thead', {}, h('tr', {}, ['Name', 'Status', 'Last activity', 'Resources', ''].map((c) => h('th', {}, c)))),
      h('tbody', {}, nbs.length ? nbs.map((n) => h('tr', {}, h('td', {}, h('a', { href: '#/notebooks/' + encodeURIComponent(n.name) }, n.name)), h('td', {}, phase(n.status?.phase)),
        h('td', {}, fmtTime(n.status?.lastActivity)), h('td', {}, resources(n.spec)), h('td', {}, actions(n, load))))
        : h('tr', {}, h('td', { colspan: 5 }, 'No notebooks in ' + namespace() + '.')))));
    return nbs.some((n) => ['Pending', 'Starting', 'Stopping'].includes(n.status?.phase)) ? 'changed' : 'same';
  };
  load().catch((e) => fill(list, errorBox(e)));
  poller(load, { min: 3000, max: 30000 });
  return h('div', {}, h('h1', {}, 'Notebooks'), list, h('h2', {}, 'Create a notebook'), form);
}

function resources(s) {
  const r = s?.resources || {};
  return [r.cpu && r.cpu + ' CPU', r.memory, r.gpu && r.gpu + ' GPU', s?.workspace?.size && s.workspace.size + ' workspace'].filter(Boolean).join(', ');
}

function actions(n, reload) {
  const base = `/${encodeURIComponent(n.name)}`;
  const post = (verb) => async () => { try { await api(notebooksURL(base + '/' + verb), { method: 'POST' }); flash(`${n.name}: ${verb} requested.`); } catch (e) { flash(e.message); } reload(); };
  return h('span', { class: 'row' },
    n.status?.phase === 'Running' ? h('a', { class: 'button primary', href: n.status.url || `/notebook/${encodeURIComponent(n.namespace)}/${encodeURIComponent(n.name)}/`, target: '_blank', rel: 'noopener' }, 'Connect') : '',
    n.stopped ? h('button', { onclick: post('start') }, 'Start') : h('button', { onclick: post('stop') }, 'Stop'),
    h('button', { class: 'danger', onclick: async () => { if (!confirm(`Delete notebook ${n.name} and its workspace?`)) return; try { await api(notebooksURL(base), { method: 'DELETE' }); flash(`${n.name} deleted.`); } catch (e) { flash(e.message); } reload(); } }, 'Delete'));
}

/** notebookPage is #/notebooks/{name}: status, events and the server log. */
export function notebookPage(name) {
  const root = h('div');
  const base = '/' + encodeURIComponent(name);
  const load = async () => {
    const n = await api(notebooksURL(base));
    const logs = await api(notebooksURL(base + '/logs'), { query: { tailLines: 200 } }).catch((e) => '(logs unavailable: ' + e.message + ')');
    fill(root, h('p', {}, h('a', { href: '#/notebooks' }, '← Notebooks')),
      h('div', { class: 'row' }, h('h1', { class: 'grow' }, n.name, ' ', h('span', { id: 'nb-phase' }, phase(n.status?.phase))), actions(n, load)),
      h('dl', { class: 'kv' }, h('dt', {}, 'Owner'), h('dd', {}, n.owner || ''), h('dt', {}, 'Created'), h('dd', {}, fmtTime(n.createdAt)),
        h('dt', {}, 'Last activity'), h('dd', {}, fmtTime(n.status?.lastActivity)), h('dt', {}, 'Resources'), h('dd', {}, resources(n.spec) || 'defaults'),
        h('dt', {}, 'Idle timeout'), h('dd', {}, n.spec?.idleTimeout || 'default'), n.status?.message ? [h('dt', {}, 'Message'), h('dd', {}, n.status.message)] : ''),
      h('h2', {}, 'Events'), (n.status?.events || []).length ? h('div', { class: 'table-wrap' }, h('table', {}, h('tbody', {}, n.status.events.map((ev) => h('tr', {}, h('td', {}, fmtTime(ev.time)), h('td', {}, ev.type), h('td', {}, ev.reason), h('td', {}, ev.message)))))) : h('p', { class: 'muted' }, 'None.'),
      h('h2', {}, 'Server log'), h('pre', { class: 'logs', tabindex: 0 }, typeof logs === 'string' ? logs : JSON.stringify(logs)));
    root.dataset.phase = n.status?.phase || '';
    return ['Pending', 'Starting', 'Stopping'].includes(n.status?.phase) ? 'changed' : 'same';
  };
  load().catch((e) => fill(root, errorBox(e)));
  poller(load, { min: 1500, max: 15000 });
  return root;
}
