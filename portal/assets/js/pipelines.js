// pipelines.js: pipelines list and upload, a pipeline's versions and inputs, the typed run form
// and recurring runs.
import { h, fill, api, errorBox, flash, fmtTime, phase, specGraph } from './lib.js';
import { dagView, specNodes } from './dag.js';

/** pipelinesPage is #/pipelines: the list and the upload form. */
export function pipelinesPage() {
  const list = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, 'Loading…'));
  const err = h('div');
  const form = h('form', { class: 'stack', id: 'upload-form', onsubmit: upload },
    h('div', { class: 'field' }, h('label', { for: 'up-name' }, 'Name'), h('input', { id: 'up-name', name: 'name', required: true })),
    h('div', { class: 'field' }, h('label', { for: 'up-desc' }, 'Description'), h('input', { id: 'up-desc', name: 'description' })),
    h('div', { class: 'field' }, h('label', { for: 'up-file' }, 'Compiled pipeline (YAML or JSON)'),
      h('input', { id: 'up-file', name: 'spec', type: 'file', accept: '.yaml,.yml,.json', required: true }),
      h('span', { class: 'hint' }, 'The output of `kiln compile` or `go run . compile`.')),
    err, h('div', {}, h('button', { type: 'submit', class: 'primary' }, 'Upload')));

  async function upload(e) {
    e.preventDefault();
    fill(err);
    const fd = new FormData(form);
    try {
      const res = await api('/pipelines', { method: 'POST', form: fd });
      flash(`Uploaded ${res.pipeline.name} ${res.version.name}.`);
      location.hash = '#/pipelines/' + res.pipeline.id;
    } catch (ex) { fill(err, errorBox(ex)); }
  }

  (async () => {
    try {
      const res = await api('/pipelines', { query: { pageSize: 200 } });
      fill(list, h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Description'), h('th', {}, 'Created'))),
        h('tbody', {}, res.pipelines.length ? res.pipelines.map((p) => h('tr', {}, h('td', {}, h('a', { href: '#/pipelines/' + p.id }, p.name)), h('td', {}, p.description || ''), h('td', {}, fmtTime(p.createdAt))))
          : h('tr', {}, h('td', { colspan: 3 }, 'No pipelines yet: upload one below.')))));
    } catch (ex) { fill(list, errorBox(ex)); }
  })();
  return h('div', {}, h('h1', {}, 'Pipelines'), list, h('h2', {}, 'Upload a pipeline'), form);
}

/** pipelinePage is #/pipelines/{id}?version=: versions, inputs, run form, recurring runs. */
export function pipelinePage(id, query) {
  const root = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  (async () => {
    let p, vs;
    try {
      [p, vs] = await Promise.all([api('/pipelines/' + encodeURIComponent(id)), api(`/pipelines/${encodeURIComponent(id)}/versions`, { query: { pageSize: 200 } })]);
    } catch (e) { fill(root, errorBox(e)); return; }
    const versions = vs.versions;
    const vid = query.get('version') || versions[0]?.id;
    const v = vid ? await api('/pipeline-versions/' + vid) : null;
    const sel = h('select', { id: 'version-select', onchange: () => { location.hash = `#/pipelines/${id}?version=${sel.value}`; } },
      versions.map((x) => h('option', { value: x.id, selected: x.id === vid }, `${x.name} (${fmtTime(x.createdAt)})`)));
    fill(root, 
      h('p', {}, h('a', { href: '#/pipelines' }, '← Pipelines')),
      h('h1', {}, p.name), p.description ? h('p', {}, p.description) : '',
      h('div', { class: 'row' }, h('label', { for: 'version-select' }, 'Version'), sel),
      v ? [h('h2', {}, 'Graph'), specView(v.spec), h('h2', {}, 'Inputs'), paramsTable(v.parameters), h('h2', {}, 'Create a run'), runForm(v),
        h('h2', {}, 'Recurring runs'), recurring(v), h('h2', {}, 'Upload a new version'), versionForm(p),
        h('details', {}, h('summary', {}, 'Compiled spec'), h('pre', {}, v.spec))] : h('p', {}, 'No versions.'));
  })();
  return root;
}

function specView(spec) {
  const box = h('div', { class: 'graph', id: 'pipeline-graph' }, h('p', { class: 'muted' }, 'Loading graph…'));
  specGraph(spec).then((g) => {
    const view = dagView(() => {});
    fill(box, view.el);
    view.update(specNodes(g));
  }).catch((e) => fill(box, errorBox(e)));
  return box;
}

function paramsTable(ps) {
  if (!ps.length) return h('p', { class: 'muted' }, 'This pipeline takes no inputs.');
  return h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, ['Name', 'Type', 'Default', 'Required', 'Description'].map((c) => h('th', {}, c)))),
    h('tbody', {}, ps.map((x) => h('tr', {}, h('td', {}, h('code', {}, x.name)), h('td', {}, x.type + (x.enum ? ' (one of ' + x.enum.join(', ') + ')' : '')),
      h('td', {}, x.default ?? ''), h('td', {}, x.required ? 'yes' : 'no'), h('td', {}, x.description || ''))))));
}

/** paramInput returns a form control for a typed parameter; read() gives its string or an error. */
function paramInput(x) {
  const id = 'param-' + x.name;
  let input;
  if (x.enum?.length) input = h('select', { id, name: x.name }, x.enum.map((e) => h('option', { value: e, selected: e === x.default }, e)));
  else if (x.type === 'boolean') input = h('select', { id, name: x.name }, ['true', 'false'].map((e) => h('option', { value: e, selected: e === x.default }, e)));
  else if (x.type === 'number') input = h('input', { id, name: x.name, type: 'number', step: 'any', value: x.default ?? '', required: x.required });
  else if (x.type === 'list' || x.type === 'object') input = h('textarea', { id, name: x.name, rows: 3, required: x.required }, x.default ?? '');
  else input = h('input', { id, name: x.name, value: x.default ?? '', required: x.required });
  const read = () => {
    const s = input.value;
    if (x.required && s === '') return [null, 'is required'];
    if (x.type === 'number' && s !== '' && !Number.isFinite(Number(s))) return [null, 'must be a number'];
    if ((x.type === 'list' || x.type === 'object') && s !== '') {
      try {
        const v = JSON.parse(s);
        if (x.type === 'list' ? !Array.isArray(v) : (typeof v !== 'object' || Array.isArray(v) || v === null)) return [null, `must be a JSON ${x.type === 'list' ? 'list' : 'object'}`];
      } catch { return [null, 'must be valid JSON']; }
    }
    return [s, null];
  };
  const field = h('div', { class: 'field' }, h('label', { for: id }, x.name, ' ', h('span', { class: 'hint' }, x.type + (x.required ? ', required' : ''))), input,
    x.description ? h('span', { class: 'hint' }, x.description) : '');
  return { field, read, name: x.name };
}

function runForm(v) {
  const inputs = v.parameters.map(paramInput);
  const err = h('div');
  const name = h('input', { id: 'run-name', name: 'runName', placeholder: 'optional' });
  const exp = h('select', { id: 'run-experiment' }, h('option', { value: '' }, '(none)'));
  api('/experiments', { query: { pageSize: 200 } }).then((r) => r.experiments.forEach((e) => exp.append(h('option', { value: e.id }, e.name)))).catch(() => {});
  const form = h('form', { class: 'stack', id: 'run-form', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    fill(err);
    const parameters = {}, problems = [];
    for (const i of inputs) {
      const [val, bad] = i.read();
      if (bad) problems.push({ field: 'parameters.' + i.name, message: bad });
      else if (val !== '') parameters[i.name] = val;
    }
    if (problems.length) { fill(err, errorBox({ message: 'Some inputs are not valid:', details: problems })); return; }
    try {
      const run = await api('/runs', { method: 'POST', body: { name: name.value || undefined, pipelineVersionId: v.id, experimentId: exp.value || undefined, parameters } });
      location.hash = '#/runs/' + run.id;
    } catch (ex) { fill(err, errorBox(ex)); }
  } },
  h('div', { class: 'field' }, h('label', { for: 'run-name' }, 'Run name'), name),
  h('div', { class: 'field' }, h('label', { for: 'run-experiment' }, 'Experiment'), exp),
  inputs.map((i) => i.field), err, h('div', {}, h('button', { type: 'submit', class: 'primary' }, 'Start run')));
  return form;
}

function recurring(v) {
  const box = h('div');
  const err = h('div');
  const load = async () => {
    const res = await api('/recurring-runs', { query: { pageSize: 200 } });
    const mine = res.recurringRuns.filter((r) => r.pipelineVersionId === v.id);
    fill(list, mine.length ? h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, ['Name', 'Schedule', 'Enabled', 'Last run', ''].map((c) => h('th', {}, c)))),
      h('tbody', {}, mine.map((r) => h('tr', {}, h('td', {}, r.name), h('td', {}, r.cron ? `cron ${r.cron}${r.timeZone ? ' ' + r.timeZone : ''}` : 'every ' + r.interval),
        h('td', {}, r.enabled ? 'yes' : 'no'), h('td', {}, fmtTime(r.lastRunAt)),
        h('td', {}, h('button', { onclick: async () => { await api(`/recurring-runs/${r.id}/${r.enabled ? 'disable' : 'enable'}`, { method: 'POST' }); load(); } }, r.enabled ? 'Disable' : 'Enable'), ' ',
          h('button', { class: 'danger', onclick: async () => { if (confirm(`Delete recurring run ${r.name}?`)) { await api('/recurring-runs/' + r.id, { method: 'DELETE' }); load(); } } }, 'Delete'))))))) : h('p', { class: 'muted' }, 'None for this version.'));
  };
  const list = h('div');
  const rname = h('input', { id: 'rr-name', required: true });
  const sched = h('input', { id: 'rr-schedule', placeholder: '0 * * * *  or  1h30m', required: true });
  const form = h('form', { class: 'row', onsubmit: async (e) => {
    e.preventDefault(); fill(err);
    const s = sched.value.trim();
    const isCron = s.split(/\s+/).length === 5;
    try {
      await api('/recurring-runs', { method: 'POST', body: { name: rname.value, pipelineVersionId: v.id, enabled: true, ...(isCron ? { cron: s } : { interval: s }) } });
      flash('Recurring run created.'); load();
    } catch (ex) { fill(err, errorBox(ex)); }
  } }, h('label', { for: 'rr-name' }, 'Name'), rname, h('label', { for: 'rr-schedule' }, 'Cron or interval'), sched, h('button', { type: 'submit' }, 'Create'));
  load().catch((e) => fill(list, errorBox(e)));
  box.append(list, form, err);
  return box;
}

function versionForm(p) {
  const err = h('div');
  const form = h('form', { class: 'stack', onsubmit: async (e) => {
    e.preventDefault(); fill(err);
    try {
      const v = await api(`/pipelines/${p.id}/versions`, { method: 'POST', form: new FormData(form) });
      location.hash = `#/pipelines/${p.id}?version=${v.id}`;
    } catch (ex) { fill(err, errorBox(ex)); }
  } },
  h('div', { class: 'field' }, h('label', { for: 'ver-name' }, 'Version name'), h('input', { id: 'ver-name', name: 'versionName', required: true })),
  h('div', { class: 'field' }, h('label', { for: 'ver-file' }, 'Compiled pipeline'), h('input', { id: 'ver-file', name: 'spec', type: 'file', required: true })),
  err, h('div', {}, h('button', { type: 'submit' }, 'Upload version')));
  return form;
}

export { phase };
