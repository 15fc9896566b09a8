// earshot web UI: network quality on the call page (docs/QUALITY.md), and
// the small SVG charts the dashboard (web/dashboard.js) uses too.
// GET /api/calls/{id} carries each stream's figures in streams[].quality:
// MOS per simulated jitter buffer (50 ms, 200 ms fixed, adaptive), loss and
// its longest burst, jitter percentiles and a series per 5 s bin; this
// draws one panel per direction with those figures, three graphs over time
// (loss, jitter, MOS) and, for screen readers and for copying, the same
// series as a table.  The page draws the charts itself: no library, no CDN.
// Uses $(), el(), fmtDur() of app.js and qualityBadge() of search.js
// (classic scripts share the global scope); app.js calls qualityShow(call)
// and qualityClear().
'use strict';

const Q_SVG = 'http://www.w3.org/2000/svg';

function qSvg(tag, attrs, text) {
  const n = document.createElementNS(Q_SVG, tag);
  for (const k in attrs) n.setAttribute(k, String(attrs[k]));
  if (text !== undefined) n.textContent = String(text);
  return n;
}

// A chart of values over x (null = no data: a gap), as an SVG with axis
// labels; opts: {label, unit, max, color, kind: 'line'|'bar', xLabel(i),
// limits: [[value, label], ...] drawn as dashed lines}.  The aria-label
// says what it shows, with its range; a table carries the values.
function qChart(values, opts) {
  const W = 600, H = 160, L = 44, R = 8, T = 10, B = 24;
  const finite = values.filter((v) => v !== null && v !== undefined && isFinite(v));
  const top = opts.max !== undefined ? opts.max : Math.max(1, ...finite) * 1.1;
  const bottom = opts.min || 0;
  const x = (i) => L + (W - L - R) * (values.length > 1 ? i / (values.length - 1) : 0.5);
  const y = (v) => T + (H - T - B) * (1 - (Math.min(top, Math.max(bottom, v)) - bottom) / (top - bottom));
  const svg = qSvg('svg', { viewBox: '0 0 ' + W + ' ' + H, width: '100%', role: 'img', class: 'qchart' });
  const lo = finite.length ? Math.min(...finite) : null, hi = finite.length ? Math.max(...finite) : null;
  svg.setAttribute('aria-label', opts.label + ': ' + (finite.length ? values.length + ' values from ' +
    qFmt(lo) + ' to ' + qFmt(hi) + (opts.unit ? ' ' + opts.unit : '') : 'no data'));
  svg.append(qSvg('rect', { x: L, y: T, width: W - L - R, height: H - T - B, fill: '#f6f8fa', stroke: '#6e7781' }));
  for (const v of [bottom, (bottom + top) / 2, top]) {
    svg.append(qSvg('text', { x: L - 4, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#57606a' },
      qFmt(v)));
  }
  for (const [v, name] of opts.limits || []) {
    if (v <= bottom || v >= top) continue;
    svg.append(qSvg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: '#bf8700', 'stroke-dasharray': '4 3' }));
    svg.append(qSvg('text', { x: W - R - 2, y: y(v) - 3, 'text-anchor': 'end', 'font-size': 10, fill: '#6b5000' }, name));
  }
  const n = values.length;
  for (const i of [0, Math.floor((n - 1) / 2), n - 1]) {
    if (i < 0 || !opts.xLabel) continue;
    svg.append(qSvg('text', { x: x(i), y: H - 6, 'text-anchor': i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle',
      'font-size': 11, fill: '#57606a' }, opts.xLabel(i)));
  }
  if (opts.kind === 'bar') {
    const bw = Math.max(1, (W - L - R) / Math.max(1, n) - 2);
    values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      const bx = L + (W - L - R) * i / Math.max(1, n) + 1;
      const r = qSvg('rect', { x: bx, y: y(v), width: bw, height: Math.max(0, y(bottom) - y(v)), fill: opts.color,
        'data-value': v });
      r.append(qSvg('title', {}, (opts.xLabel ? opts.xLabel(i) + ': ' : '') + qFmt(v) + (opts.unit ? ' ' + opts.unit : '')));
      svg.append(r);
    });
    return svg;
  }
  // a line, broken where a bin has no packets; single points as dots
  let d = '', pen = false;
  values.forEach((v, i) => {
    if (v === null || v === undefined || !isFinite(v)) { pen = false; return; }
    d += (pen ? 'L' : 'M') + x(i).toFixed(1) + ' ' + y(v).toFixed(1);
    pen = true;
    const dot = qSvg('circle', { cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 2.5, fill: opts.color, 'data-value': v });
    dot.append(qSvg('title', {}, (opts.xLabel ? opts.xLabel(i) + ': ' : '') + qFmt(v) + (opts.unit ? ' ' + opts.unit : '')));
    svg.append(dot);
  });
  if (d) svg.append(qSvg('path', { d, fill: 'none', stroke: opts.color, 'stroke-width': 2 }));
  return svg;
}

function qFmt(v) {
  if (v === null || v === undefined || !isFinite(v)) return '–';
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

// A table with a caption, headings and rows of text.
function qTable(caption, heads, rows, cls) {
  const t = el('table', null, 'grid ' + (cls || ''));
  t.append(el('caption', caption));
  const hr = el('tr');
  for (const h of heads) { const th = el('th', h); th.scope = 'col'; hr.append(th); }
  const thead = el('thead');
  thead.append(hr);
  const tb = el('tbody');
  t.append(thead, tb);
  for (const r of rows) tb.append(row(r, t));
  return t;
}

// A button that shows and hides content (a table beside a chart).  Not a
// <details>: Chromium's Tab from a control of a view just hidden skipped
// the page's first stop when a <details> followed it (test_ui_fixes).
function qToggle(label, content, cls) {
  const box = el('div', null, cls);
  const b = el('button', label, 'qtoggle');
  b.type = 'button';
  b.setAttribute('aria-expanded', 'false');
  content.hidden = true;
  b.addEventListener('click', () => {
    content.hidden = !content.hidden;
    b.setAttribute('aria-expanded', String(!content.hidden));
  });
  box.append(b, content);
  return box;
}

function qualityClear() {
  const box = $('quality-panel');
  box.replaceChildren();
  box.hidden = true;
}

// One direction: its figures, its graphs, its series as a table.
function qualityDirection(s, n) {
  const q = s.quality;
  const sec = el('section', null, 'qdir');
  sec.dataset.ssrc = s.ssrc;
  const title = el('h4', (s.party ? words(s.party) + ': ' : '') + s.src + ' → ' + s.dst + (q.codec ? ' (' + q.codec + ')' : ''));
  title.id = 'quality-dir-' + n;
  sec.setAttribute('aria-labelledby', title.id);
  sec.append(title);
  const buf = (b) => (b ? [qualityBadge('mos', b.mos), [qFmt(b.loss_pct) + ' %', 'num'], [qFmt(b.ta_ms) + ' ms', 'num']]
    : ['–', '', '']);
  sec.append(qTable('MOS per receiver jitter buffer (ITU-T G.107 E-model; late packets count as lost)',
    ['Buffer', 'MOS', 'Loss incl. late', 'Delay used'],
    [['Fixed 50 ms', ...buf(q.jb50)], ['Fixed 200 ms', ...buf(q.jb200)], ['Adaptive (≤ 500 ms)', ...buf(q.adaptive)]],
    'qbuffers'));
  const figs = el('dl', null, 'meta qfigs');
  const add = (k, v) => { const dd = el('dd'); if (v instanceof Node) dd.append(v); else dd.textContent = v; figs.append(el('dt', k), dd); };
  add('MOS (adaptive)', qualityBadge('mos', q.mos));
  add('Lowest 5 s MOS', q.mos_min_bin === null || q.mos_min_bin === undefined ? '–' : qFmt(q.mos_min_bin));
  add('Network loss', qualityBadge('loss', q.loss_pct));
  add('Longest loss burst', (q.longest_burst || 0) + ' packet' + (q.longest_burst === 1 ? '' : 's'));
  add('Jitter p50 / p95 / p99 / max', [q.jitter_p50_ms, q.jitter_p95_ms, q.jitter_p99_ms, q.jitter_max_ms]
    .map(qFmt).join(' / ') + ' ms');
  add('Jitter (p95)', qualityBadge('jitter', q.jitter_p95_ms));
  if (q.rtt_ms !== null && q.rtt_ms !== undefined) add('RTCP round trip', qFmt(q.rtt_ms) + ' ms');
  sec.append(figs);
  const ser = q.series;
  if (ser && ser.mos && ser.mos.length) {
    const step = (ser.step_ms || 5000) / 1000;
    const xl = (i) => fmtDur(i * step).replace(/\.\d$/, '');
    const graphs = el('div', null, 'qgraphs');
    const g = (name, vals, o) => {
      const f = el('figure', null, 'qgraph');
      f.dataset.series = name;
      f.append(el('figcaption', o.label), qChart(vals, Object.assign({ xLabel: xl }, o)));
      graphs.append(f);
    };
    g('loss', ser.loss_pct, { label: 'Packet loss per ' + step + ' s (%)', unit: '%', color: '#b42318',
      max: Math.max(5, ...ser.loss_pct.filter((v) => v !== null)) * 1.1, limits: [[1, '1 %'], [3, '3 %']] });
    g('jitter', ser.jitter_ms, { label: 'Jitter per ' + step + ' s (ms)', unit: 'ms', color: '#8250df',
      limits: [[30, '30 ms'], [50, '50 ms']] });
    g('mos', ser.mos, { label: 'MOS per ' + step + ' s (adaptive buffer)', unit: '', color: '#0a58ca', min: 1, max: 4.5,
      limits: [[4.03, '4.03'], [3.6, '3.60']] });
    sec.append(graphs);
    sec.append(qToggle('The graphs as a table (' + ser.mos.length + ' bins of ' + step + ' s)',
      qTable('Per ' + step + ' s: loss, jitter, MOS', ['From', 'Loss (%)', 'Jitter (ms)', 'MOS'],
        ser.mos.map((m, i) => [xl(i), [qFmt(ser.loss_pct[i]), 'num'], [qFmt(ser.jitter_ms[i]), 'num'], [qFmt(m), 'num']])),
      'qseries'));
  }
  return sec;
}

function qualityShow(c) {
  const box = $('quality-panel');
  box.replaceChildren();
  const streams = (c.streams || []).filter((s) => s.quality && typeof s.quality === 'object');
  box.hidden = !streams.length;
  if (!streams.length) return;
  const h = el('h3', 'Network quality');
  h.id = 'quality-title';
  box.append(h);
  const sum = c.quality;
  if (sum) {
    const p = el('p', null, 'qsummary');
    p.append('Worst direction: MOS ', qualityBadge('mos', sum.mos), ', loss ', qualityBadge('loss', sum.loss_pct),
      ', jitter p95 ', qualityBadge('jitter', sum.jitter_p95_ms), '.');
    box.append(p);
  }
  streams.forEach((s, i) => box.append(qualityDirection(s, i)));
}
