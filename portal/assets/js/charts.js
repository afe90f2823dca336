// charts.js: SVG line charts (log scale, smoothing) and parallel coordinates, drawn by hand.
import { svg, h, fmtNum } from './lib.js';

/** palette is colour-blind-friendly (Okabe–Ito) and cycles for many series. */
export const palette = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

/** smooth applies debiased exponential smoothing with weight w in [0, 1). */
export function smooth(points, w) {
  if (!w) return points;
  let last = 0, n = 0;
  return points.map((p) => {
    last = last * w + (1 - w) * p.y; n++;
    return { x: p.x, y: last / (1 - Math.pow(w, n)) };
  });
}

function ticks(lo, hi, n = 5, integer = false) {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(step0)));
  let step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0);
  if (integer) step = Math.max(1, Math.round(step)); // steps, trials: no fractional ticks
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

/**
 * lineChart draws series [{name, points: [{x, y}]}] and returns an <svg>. opts: {width, height,
 * logY, smoothing, xLabel, yLabel}. Non-positive values are dropped on a log axis.
 */
export function lineChart(series, opts = {}) {
  const width = opts.width || 560, height = opts.height || 260;
  const m = { l: 56, r: 12, t: 12, b: 34 };
  const fy = opts.logY ? (v) => Math.log10(v) : (v) => v;
  const data = series.map((s) => ({ ...s, points: smooth(s.points.filter((p) => Number.isFinite(p.y) && (!opts.logY || p.y > 0)), opts.smoothing) }));
  const all = data.flatMap((s) => s.points);
  const el = svg('svg', { class: 'chart', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': opts.label || 'chart' });
  if (!all.length) {
    el.append(svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle' }, 'no data'));
    return el;
  }
  let x0 = Math.min(...all.map((p) => p.x)), x1 = Math.max(...all.map((p) => p.x));
  let y0 = Math.min(...all.map((p) => fy(p.y))), y1 = Math.max(...all.map((p) => fy(p.y)));
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  if (y0 === y1) { y0 -= 1; y1 += 1; }
  const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
  const X = (x) => m.l + ((x - x0) / (x1 - x0)) * (width - m.l - m.r);
  const Y = (y) => height - m.b - ((y - y0) / (y1 - y0)) * (height - m.t - m.b);
  // On a log axis, whole decades when the range spans at least two.
  const yt = opts.logY && y1 - y0 >= 2 ? ticks(y0, y1, 5, true) : ticks(y0, y1);
  for (const t of yt) {
    el.append(svg('line', { class: 'grid', x1: m.l, x2: width - m.r, y1: Y(t), y2: Y(t) }));
    el.append(svg('text', { x: m.l - 4, y: Y(t) + 4, 'text-anchor': 'end' }, fmtNum(opts.logY ? Math.pow(10, t) : t)));
  }
  const intX = all.every((p) => Number.isInteger(p.x));
  for (const t of ticks(x0, x1, 5, intX)) el.append(svg('text', { x: X(t), y: height - m.b + 14, 'text-anchor': 'middle' }, fmtNum(t)));
  el.append(svg('line', { class: 'axis', x1: m.l, x2: m.l, y1: m.t, y2: height - m.b }));
  el.append(svg('line', { class: 'axis', x1: m.l, x2: width - m.r, y1: height - m.b, y2: height - m.b }));
  if (opts.xLabel) el.append(svg('text', { x: (width + m.l) / 2, y: height - 4, 'text-anchor': 'middle' }, opts.xLabel));
  data.forEach((s, i) => {
    const d = s.points.map((p, k) => (k ? 'L' : 'M') + X(p.x).toFixed(1) + ',' + Y(fy(p.y)).toFixed(1)).join('');
    el.append(svg('path', { class: 'series', d, stroke: s.color || palette[i % palette.length] }, svg('title', {}, s.name)));
  });
  return el;
}

/** legend lists series names with their colours. */
export function legend(names) {
  return h('div', { class: 'legend' }, names.map((n, i) => h('span', { style: `--c:${palette[i % palette.length]}` }, n)));
}

/**
 * parallelCoords draws one polyline per row across numeric dimensions. rows: [{name, values:
 * {dim: number}}], dims: [string]. Rows missing a dimension are broken at it.
 */
export function parallelCoords(rows, dims, opts = {}) {
  const width = opts.width || Math.max(420, dims.length * 140), height = opts.height || 280;
  const m = { l: 40, r: 64, t: 28, b: 20 };
  const el = svg('svg', { class: 'chart', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'parallel coordinates of ' + dims.join(', ') });
  if (!dims.length) return el;
  const X = (i) => m.l + (dims.length === 1 ? 0 : (i / (dims.length - 1)) * (width - m.l - m.r));
  const ranges = dims.map((d) => {
    const vs = rows.map((r) => r.values[d]).filter(Number.isFinite);
    let lo = Math.min(...vs), hi = Math.max(...vs);
    if (!vs.length) { lo = 0; hi = 1; }
    if (lo === hi) { lo -= 1; hi += 1; }
    return [lo, hi];
  });
  const Y = (i, v) => height - m.b - ((v - ranges[i][0]) / (ranges[i][1] - ranges[i][0])) * (height - m.t - m.b);
  dims.forEach((d, i) => {
    el.append(svg('line', { class: 'axis', x1: X(i), x2: X(i), y1: m.t, y2: height - m.b }));
    el.append(svg('text', { x: X(i), y: 12, 'text-anchor': 'middle', 'font-weight': 600 }, d));
    el.append(svg('text', { x: X(i) + 4, y: m.t + 4 }, fmtNum(ranges[i][1])));
    el.append(svg('text', { x: X(i) + 4, y: height - m.b }, fmtNum(ranges[i][0])));
  });
  rows.forEach((r, k) => {
    let d = '', pen = false;
    dims.forEach((dim, i) => {
      const v = r.values[dim];
      if (!Number.isFinite(v)) { pen = false; return; }
      d += (pen ? 'L' : 'M') + X(i).toFixed(1) + ',' + Y(i, v).toFixed(1); pen = true;
    });
    el.append(svg('path', { class: 'pc-line', d, stroke: palette[k % palette.length] }, svg('title', {}, r.name)));
  });
  return el;
}
