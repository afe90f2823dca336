// app.js: the router (on the URL fragment), the header's namespace switcher and the home page.
import { h, fill, api, errorBox, phase, fmtTime, fmtDuration, namespace, setNamespace, parseHash, currentPage } from './lib.js';
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

/** homePage: recent runs with status, running count, quick links. */
function homePage() {
  const counts = h('div', { class: 'cards' });
  const recent = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, 'Loading…'));
  (async () => {
    try {
      const [rec, running, failed] = await Promise.all([
        api('/runs', { query: { pageSize: 10 } }),
        api('/runs', { query: { pageSize: 100, filter: 'phase == "Running" || phase == "Pending"' } }),
        api('/runs', { query: { pageSize: 100, filter: 'phase == "Failed" || phase == "Error"' } }),
      ]);
      const n = (r) => r.runs.length + (r.nextPageToken ? '+' : '');
      fill(counts, 
        h('a', { class: 'card', href: '#/runs?filter=' + encodeURIComponent('phase == "Running" || phase == "Pending"') }, h('div', { class: 'big', id: 'running-count' }, n(running)), 'running or pending'),
        h('a', { class: 'card', href: '#/runs?filter=' + encodeURIComponent('phase == "Failed" || phase == "Error"') }, h('div', { class: 'big' }, n(failed)), 'failed'),
        h('a', { class: 'card', href: '#/pipelines' }, h('div', { class: 'big' }, '↑'), 'upload or run a pipeline'),
        h('a', { class: 'card', href: '#/notebooks' }, h('div', { class: 'big' }, '✎'), 'notebooks'));
      fill(recent, h('table', {}, h('thead', {}, h('tr', {}, ['Run', 'Phase', 'Created', 'Duration'].map((c) => h('th', {}, c)))),
        h('tbody', {}, rec.runs.length ? rec.runs.map((r) => h('tr', {}, h('td', {}, h('a', { href: '#/runs/' + r.id }, r.name || r.id)), h('td', {}, phase(r.phase)), h('td', {}, fmtTime(r.createdAt)), h('td', {}, fmtDuration(r.startedAt, r.finishedAt))))
          : h('tr', {}, h('td', { colspan: 4 }, 'No runs yet. Upload a pipeline and start one.')))));
    } catch (e) { fill(recent, errorBox(e)); }
  })();
  return h('div', {}, h('h1', {}, 'Home'), h('p', { class: 'muted' }, 'Namespace ', h('strong', {}, namespace())), counts, h('h2', {}, 'Recent runs'), recent);
}

function initNamespace() {
  const input = document.getElementById('ns-input');
  input.value = namespace();
  const known = JSON.parse(localStorage.getItem('kiln.namespaces') || '["default"]');
  fill(document.getElementById('ns-list'), ...known.map((n) => h('option', { value: n })));
  document.getElementById('ns-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const ns = input.value.trim() || 'default';
    setNamespace(ns);
    if (!known.includes(ns)) { known.push(ns); localStorage.setItem('kiln.namespaces', JSON.stringify(known)); }
    render();
  });
}

initNamespace();
window.addEventListener('hashchange', render);
render();
