// app.js: the router (on the URL fragment), the header's namespace switcher and the home page.
import { h, fill, api, errorBox, phase, fmtTime, fmtDuration, namespace, setNamespace, parseHash, currentPage, liveEvents } from './lib.js';
import { runsPage, runPage } from './runs.js';
import { pipelinesPage, pipelinePage } from './pipelines.js';
import { experimentsPage, experimentPage, comparePage } from './experiments.js';
import { modelsPage, modelPage } from './models.js';
import { notebooksPage, notebookPage } from './notebooks.js';

const routes = [
  [[], homePage, 'Home'],
  [['runs'], (p, q) => runsPage(q), 'Runs'],
  [['runs', ':id'], (p) => runPage(p[1]), 'Run'],
  [['pipelines'], () => pipelinesPage(), 'Pipelines'],
  [['pipelines', ':id'], (p, q) => pipelinePage(p[1], q), 'Pipeline'],
  [['experiments'], () => experimentsPage(), 'Experiments'],
  [['experiments', ':id'], (p) => experimentPage(p[1]), 'Experiment'],
  [['compare'], (p, q) => comparePage(q), 'Compare runs'],
  [['models'], () => modelsPage(), 'Models'],
  [['models', ':id'], (p) => modelPage(p[1]), 'Model'],
  [['notebooks'], () => notebooksPage(), 'Notebooks'],
  [['notebooks', ':id'], (p) => notebookPage(p[1]), 'Notebook'],
];

function match(parts) {
  return routes.find(([pat]) => pat.length === parts.length && pat.every((s, i) => s.startsWith(':') || s === parts[i]));
}

function render() {
  currentPage.token++;
  window.dispatchEvent(new Event('kiln:leave'));
  const { parts, query } = parseHash();
  const main = document.getElementById('main');
  const route = match(parts);
  for (const a of document.querySelectorAll('#nav a')) {
    a.toggleAttribute('aria-current', false);
    if (parts[0] && a.getAttribute('href') === '#/' + parts[0]) a.setAttribute('aria-current', 'page');
  }
  if (!route) { fill(main, h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/' }, 'Home'))); return; }
  document.title = `${route[2]} · ${document.querySelector('.brand').textContent}`;
  let page;
  try { page = route[1](parts, query); } catch (e) { page = errorBox(e); console.error(e); }
  fill(main, page);
  main.dataset.route = parts[0] || 'home';
  if (render.focused) main.focus({ preventScroll: true });
  render.focused = true;
  window.scrollTo(0, 0);
}

/**
 * homePage: recent runs with status, running count, quick links. The numbers come from one read
 * of the runs list, then live from GET /runs/events (a summary pushed when it changes).
 */
function homePage() {
  const counts = h('div', { class: 'cards' });
  const recent = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, 'Loading…'));
  const activeFilter = 'phase == "Running" || phase == "Pending"', failedFilter = 'phase == "Failed" || phase == "Error"';
  const show = (s) => {
    const n = (c, more) => c + (more ? '+' : '');
    fill(counts,
      h('a', { class: 'card', href: '#/runs?filter=' + encodeURIComponent(activeFilter) }, h('div', { class: 'big', id: 'running-count' }, n(s.active, s.activeMore)), 'running or pending'),
      h('a', { class: 'card', href: '#/runs?filter=' + encodeURIComponent(failedFilter) }, h('div', { class: 'big', id: 'failed-count' }, n(s.failed, s.failedMore)), 'failed'),
      h('a', { class: 'card', href: '#/pipelines' }, h('div', { class: 'big' }, '↑'), 'upload or run a pipeline'),
      h('a', { class: 'card', href: '#/notebooks' }, h('div', { class: 'big' }, '✎'), 'notebooks'));
    fill(recent, h('table', {}, h('thead', {}, h('tr', {}, ['Run', 'Phase', 'Created', 'Duration'].map((c) => h('th', {}, c)))),
      h('tbody', {}, s.recent.length ? s.recent.map((r) => h('tr', {}, h('td', {}, h('a', { href: '#/runs/' + r.id }, r.name || r.id)), h('td', {}, phase(r.phase)), h('td', {}, fmtTime(r.createdAt)), h('td', {}, fmtDuration(r.startedAt, r.finishedAt))))
        : h('tr', {}, h('td', { colspan: 4 }, 'No runs yet. Upload a pipeline and start one.')))));
  };
  (async () => {
    try {
      const [rec, running, failed] = await Promise.all([
        api('/runs', { query: { pageSize: 10 } }),
        api('/runs', { query: { pageSize: 100, filter: activeFilter } }),
        api('/runs', { query: { pageSize: 100, filter: failedFilter } }),
      ]);
      show({ active: running.runs.length, activeMore: !!running.nextPageToken, failed: failed.runs.length, failedMore: !!failed.nextPageToken, recent: rec.runs });
      // Live from here on; if the stream cannot open, the page keeps what it read.
      liveEvents('/runs/events', { summary: (s) => { show(s); counts.dataset.live = 'true'; } }, { last: null });
    } catch (e) { fill(recent, errorBox(e)); }
  })();
  const spaces = h('nav', { id: 'namespaces', 'aria-label': 'Your namespaces' });
  namespaces(true).then((list) => {
    fill(spaces, h('span', { class: 'muted' }, 'Your namespaces: '), list.map((n, i) => [i ? ' · ' : '',
      n.name === namespace() ? h('strong', { 'aria-current': 'true' }, n.name) : h('a', { href: '#/', 'data-ns': n.name, onclick: (e) => { e.preventDefault(); switchNamespace(n.name); } }, n.name),
      h('span', { class: 'muted' }, ` (${n.role})`)]));
  }).catch((e) => fill(spaces, errorBox(e)));
  return h('div', {}, h('h1', {}, 'Home'), h('p', { class: 'muted' }, 'Namespace ', h('strong', {}, namespace())), spaces, counts, h('h2', {}, 'Recent runs'), recent);
}

/**
 * namespaces lists the caller's namespaces and roles from GET /namespaces (with authentication
 * off, every namespace the server knows), plus namespaces typed into the switcher before.
 */
let nsCache = null;
async function namespaces(refresh) {
  if (refresh) nsCache = null;
  nsCache ||= api('/namespaces').then((r) => r.namespaces).catch((e) => { nsCache = null; throw e; });
  const list = [...await nsCache];
  for (const n of knownNamespaces()) if (!list.some((x) => x.name === n)) list.push({ name: n, role: 'typed here' });
  return list;
}

function knownNamespaces() {
  try { return JSON.parse(localStorage.getItem('kiln.namespaces') || '[]'); } catch { return []; }
}

function switchNamespace(ns) {
  ns = ns.trim() || 'default';
  setNamespace(ns);
  document.getElementById('ns-input').value = ns;
  render();
}

function initNamespace() {
  const input = document.getElementById('ns-input');
  input.value = namespace();
  namespaces().then((list) => fill(document.getElementById('ns-list'), list.map((n) => h('option', { value: n.name }, `${n.name} (${n.role})`))))
    .catch((e) => console.warn('namespaces', e));
  document.getElementById('ns-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const ns = input.value.trim() || 'default';
    // Remember a namespace typed here that the API does not list (auth off: any name works).
    nsCache?.then((list) => {
      const known = knownNamespaces();
      if (!list.some((x) => x.name === ns) && !known.includes(ns)) localStorage.setItem('kiln.namespaces', JSON.stringify([...known, ns]));
    }).catch(() => {});
    switchNamespace(ns);
  });
}

initNamespace();
window.addEventListener('hashchange', render);
render();
