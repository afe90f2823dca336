// lib.js: DOM building, the API client and small formatting helpers shared by every page.

const apiBase = document.querySelector('meta[name="kiln-api-base"]')?.content || '/api/v1';

/** h builds an element: h('a', {href: '#/'}, 'text', child). on* attributes become listeners. */
export function h(tag, attrs, ...children) {
  const ns = tag.startsWith('svg:') ? 'http://www.w3.org/2000/svg' : null;
  const el = ns ? document.createElementNS(ns, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.setAttribute('class', v);
    // The CSP forbids style attributes; the CSSOM is allowed.
    else if (k === 'style') for (const decl of String(v).split(';')) { const i = decl.indexOf(':'); if (i > 0) el.style.setProperty(decl.slice(0, i).trim(), decl.slice(i + 1).trim()); }
    else if (k === 'value' && !ns) el.value = v;
    else if (k === 'checked' && !ns) el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

/** fill replaces el's children, flattening arrays and skipping empty values as h does. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** svg builds an SVG element. */
export const svg = (tag, attrs, ...children) => h('svg:' + tag, attrs, ...children);

/** namespace returns the namespace the user works in. */
export function namespace() {
  return localStorage.getItem('kiln.namespace') || 'default';
}

/** setNamespace switches namespaces. */
export function setNamespace(ns) {
  localStorage.setItem('kiln.namespace', ns || 'default');
}

/** APIError carries the API's error body: code, message and per-field details. */
export class APIError extends Error {
  constructor(status, body) {
    const e = body?.error || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code;
    this.details = e.details || e.fields || [];
  }
}

function authHeaders() {
  const t = localStorage.getItem('kiln.token');
  return t ? { Authorization: 'Bearer ' + t } : {};
}

/** url returns an API URL under the API base with the namespace and query parameters. */
export function url(path, query = {}) {
  const u = new URL(apiBase + path, location.origin);
  u.searchParams.set('namespace', namespace());
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => u.searchParams.append(k, x));
    else u.searchParams.set(k, v);
  }
  return u.pathname + u.search;
}

/** api calls the REST API and returns the decoded JSON (or text for text answers). */
export async function api(path, { method = 'GET', query, body, form, signal, raw } = {}) {
  const headers = { ...authHeaders() };
  let payload;
  if (form) payload = form;
  else if (body !== undefined) { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
  // Paths are relative to the API base ("/runs"), unless absolute ("/api/v1/notebooks/…").
  const target = path.startsWith('/api/') ? path : url(path, query);
  const res = await fetch(target, { method, headers, body: payload, signal });
  if (raw) { if (!res.ok) throw new APIError(res.status, await res.json().catch(() => null)); return res; }
  if (res.status === 204) return null;
  const ct = res.headers.get('Content-Type') || '';
  const data = ct.includes('json') ? await res.json().catch(() => null) : await res.text();
  if (!res.ok) throw new APIError(res.status, typeof data === 'object' ? data : { error: { message: data } });
  return data;
}

/** notebooksURL is the notebooks API path of the current namespace. */
export function notebooksURL(suffix = '') {
  return `/api/v1/notebooks/${encodeURIComponent(namespace())}${suffix}`;
}

/** errorBox renders an error with its field details. */
export function errorBox(err) {
  const box = h('div', { class: 'error', role: 'alert' }, err.message || String(err));
  if (err.details?.length) {
    box.append(h('ul', {}, err.details.map((d) => h('li', {}, h('code', {}, d.field), ': ', d.message || d.detail || ''))));
  }
  return box;
}

/** flash shows a short message in the live region. */
export function flash(msg) {
  const el = document.getElementById('flash');
  el.textContent = msg;
  clearTimeout(flash.t);
  flash.t = setTimeout(() => { el.textContent = ''; }, 5000);
}

/** phase renders a phase badge (colour plus text, never colour alone). */
export const phase = (p) => h('span', { class: 'phase phase-' + (p || 'Pending') }, p || 'Pending');

/** fmtTime formats an RFC 3339 time for tables. */
export function fmtTime(t) {
  if (!t) return '';
  const d = new Date(t);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** fmtDuration formats the time between two RFC 3339 times (end defaults to now). */
export function fmtDuration(start, end) {
  if (!start) return '';
  let s = Math.max(0, ((end ? new Date(end) : new Date()) - new Date(start)) / 1000);
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + 's';
  const m = Math.floor(s / 60); s = Math.round(s % 60);
  if (m < 60) return `${m}m ${s}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** fmtNum formats a metric value compactly. */
export function fmtNum(v) {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

export const terminal = (p) => ['Succeeded', 'Failed', 'Error', 'Skipped', 'Omitted', 'Cancelled'].includes(p);

/**
 * poller calls fn until it returns true (done) or the page changes, waiting from `min` ms and
 * doubling up to `max` ms after each call whose result did not change (fn returns 'same').
 */
export function poller(fn, { min = 1000, max = 8000 } = {}) {
  let delay = min, stopped = false, timer;
  const token = currentPage.token;
  const tick = async () => {
    if (stopped || token !== currentPage.token) return;
    let r;
    try { r = await fn(); } catch (e) { r = 'same'; console.warn('poll', e); }
    if (r === true || stopped || token !== currentPage.token) return;
    delay = r === 'same' ? Math.min(max, delay * 2) : min;
    timer = setTimeout(tick, document.hidden ? max : delay);
  };
  timer = setTimeout(tick, min);
  return { stop() { stopped = true; clearTimeout(timer); } };
}

/**
 * liveEvents follows a server-sent event stream of the API (path as for url) and calls
 * handlers[name](data) for each event. It uses EventSource, which reconnects by itself and
 * resumes with Last-Event-ID; with a bearer token (EventSource cannot send headers) it reads
 * the same stream with fetch. handlers.fallback() is called once if the stream cannot be opened
 * at all (the caller polls instead). It stops on navigation, or when the returned close() is
 * called. The event named by `last` (default "end") closes it.
 */
export function liveEvents(path, handlers, { last = 'end' } = {}) {
  const token = currentPage.token;
  let closed = false, opened = false, es = null, ctl = null;
  const close = () => { closed = true; es?.close(); ctl?.abort(); };
  const dispatch = (name, text) => {
    if (closed || token !== currentPage.token) { close(); return; }
    opened = true;
    let data;
    try { data = JSON.parse(text); } catch { data = text; }
    handlers[name]?.(data);
    if (name === last || name === 'deleted') close();
  };
  const fail = (why) => {
    if (closed) return;
    close();
    console.warn('live events unavailable, polling instead:', why);
    handlers.fallback?.();
  };
  // Leaving the page ends the stream even if no event comes to notice it.
  window.addEventListener('kiln:leave', close, { once: true });
  const names = Object.keys(handlers).filter((k) => k !== 'fallback');
  if (!localStorage.getItem('kiln.token') && typeof EventSource === 'function') {
    es = new EventSource(url(path));
    for (const n of names.concat('deleted')) es.addEventListener(n, (e) => dispatch(n, e.data));
    // EventSource retries dropped connections itself; CLOSED means it gave up (an error status,
    // not an event stream), and an error before any event means the route is not there.
    es.onerror = () => { if (es.readyState === EventSource.CLOSED || !opened) fail('EventSource error'); };
  } else {
    ctl = new AbortController();
    (async () => {
      let lastId = '';
      for (let attempt = 0; !closed && attempt < 5; attempt++) {
        try {
          const headers = { ...authHeaders(), Accept: 'text/event-stream' };
          if (lastId) headers['Last-Event-ID'] = lastId;
          const res = await fetch(url(path), { headers, signal: ctl.signal });
          if (!res.ok || !(res.headers.get('Content-Type') || '').startsWith('text/event-stream')) { fail('HTTP ' + res.status); return; }
          const reader = res.body.getReader();
          const dec = new TextDecoder();
          let buf = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += dec.decode(value, { stream: true });
            let i;
            while ((i = buf.indexOf('\n\n')) >= 0) {
              const block = buf.slice(0, i); buf = buf.slice(i + 2);
              let name = 'message', data = '';
              for (const line of block.split('\n')) {
                if (line.startsWith('event: ')) name = line.slice(7);
                else if (line.startsWith('data: ')) data += line.slice(6);
                else if (line.startsWith('id: ')) lastId = line.slice(4);
              }
              if (data) dispatch(name, data);
            }
          }
          attempt = 0;
        } catch (e) {
          if (e.name === 'AbortError') return;
        }
        if (!closed) await new Promise((r) => setTimeout(r, 2000));
      }
      if (!opened) fail('stream ended');
    })();
  }
  return { close };
}

/** currentPage.token changes on every navigation so pollers of the old page stop. */
export const currentPage = { token: 0 };

/** limit runs async tasks with at most n in flight. */
export async function limit(n, items, fn) {
  const out = new Array(items.length);
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (i < items.length) { const k = i++; out[k] = await fn(items[k], k).catch((e) => e); }
  }));
  return out;
}

/** tabs builds an accessible tab list; panes is [{id, label, render()}]. */
export function tabs(panes, selected = panes[0].id) {
  const body = h('div', { role: 'tabpanel' });
  const buttons = panes.map((p) => h('button', { role: 'tab', id: 'tab-' + p.id, 'aria-selected': String(p.id === selected), onclick: () => select(p.id) }, p.label));
  const list = h('div', { class: 'tabs', role: 'tablist' }, buttons);
  list.addEventListener('keydown', (e) => {
    const i = buttons.indexOf(document.activeElement);
    if (i < 0) return;
    if (e.key === 'ArrowRight') { buttons[(i + 1) % buttons.length].focus(); buttons[(i + 1) % buttons.length].click(); }
    if (e.key === 'ArrowLeft') { const j = (i + buttons.length - 1) % buttons.length; buttons[j].focus(); buttons[j].click(); }
  });
  function select(id) {
    buttons.forEach((b, i) => { b.setAttribute('aria-selected', String(panes[i].id === id)); b.tabIndex = panes[i].id === id ? 0 : -1; });
    body.setAttribute('aria-labelledby', 'tab-' + id);
    fill(body, panes.find((p) => p.id === id).render());
  }
  select(selected);
  return h('div', {}, list, body);
}

/** parseHash splits "#/runs/abc?x=1" into ["runs","abc"] and URLSearchParams. */
export function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [p, q] = raw.split('?');
  return { parts: p ? p.split('/').map(decodeURIComponent) : [], query: new URLSearchParams(q || '') };
}

/** specGraph asks the portal for the task graph of a compiled spec (see portal.GraphPath). */
export async function specGraph(spec) {
  const res = await fetch('/portal/graph', { method: 'POST', body: spec, headers: { 'Content-Type': 'application/yaml' } });
  const data = await res.json();
  if (!res.ok) throw new APIError(res.status, data);
  return data;
}
