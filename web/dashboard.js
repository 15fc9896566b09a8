// earshot web UI: the dashboard (#/dashboard?from=...Z&to=...Z), for the
// roles that see every call (supervisors, admins, auditors).  One request,
// GET /api/stats, gives calls per hour (per day over long periods),
// answered and other outcomes, the MOS distribution by ITU-T G.107 band,
// and the worst calls, media routes and rules; the page draws its charts
// as SVG (qChart() of web/quality.js) with a table beside each.  The
// period lives in the URL like the call search's filters.
// Uses $(), el(), api(), row(), timeCell(), words(), fmtTime(), party()
// of app.js, timeParam()/localInput()/qualityBadge() of search.js.
'use strict';

(function () {
  const body = () => $('dashboard-body');
  let seq = 0;

  function form(from, to) {
    const f = el('form', null, 'filters');
    f.id = 'dash-form';
    const field = (id, label, value) => {
      const d = el('div');
      const l = el('label', label + ' (' + TZ + ')');
      l.htmlFor = id;
      const i = el('input');
      i.id = id;
      i.type = 'datetime-local';
      i.step = '1';
      i.value = localInput(value);
      d.append(l, i);
      return d;
    };
    const act = el('div', null, 'actions');
    const go = el('button', 'Show');
    go.type = 'submit';
    go.id = 'dash-go';
    act.append(go);
    for (const [label, hours] of [['Last 24 h', 24], ['Last 7 days', 168]]) {
      const b = el('button', label);
      b.type = 'button';
      b.addEventListener('click', () => {
        const t = new Date();
        location.hash = dashHash(new Date(t - hours * 3600e3).toISOString(), t.toISOString());
      });
      act.append(b);
    }
    f.append(field('dash-from', 'From', from), field('dash-to', 'To', to), act);
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      location.hash = dashHash(timeParam($('dash-from').value), timeParam($('dash-to').value));
    });
    return f;
  }

  function dashHash(from, to) {
    const u = new URLSearchParams();
    if (from) u.set('from', from.replace(/\.\d{3}Z$/, 'Z'));
    if (to) u.set('to', to.replace(/\.\d{3}Z$/, 'Z'));
    return '#/dashboard?' + u.toString();
  }

  function figure(id, caption, svg, table) {
    const f = el('figure', null, 'dash-figure');
    f.id = id;
    f.append(el('figcaption', caption), svg);
    if (table) f.append(qToggle('As a table', table));
    return f;
  }

  function numbers(s) {
    const dl = el('dl', null, 'dash-numbers');
    dl.id = 'dash-numbers';
    const other = s.calls - s.answered;
    for (const [k, v, key] of [['Calls', s.calls, 'calls'], ['Answered', s.answered, 'answered'],
      ['Not answered or failed', other, 'other'], ['With quality figures', s.with_quality, 'with_quality']]) {
      const d = el('div');
      const dd = el('dd', v.toLocaleString('en-US'));
      dd.dataset.key = key;
      d.append(el('dt', k), dd);
      dl.append(d);
    }
    return dl;
  }

  function render(s) {
    const out = el('div');
    out.append(numbers(s));
    // calls per bin: all and answered, as bars of the period's bins (empty ones too)
    const binMs = s.bin_s * 1000, t0 = Date.parse(s.from), n = Math.max(1, Math.ceil((Date.parse(s.to) - t0) / binMs));
    const byStart = new Map(s.bins.map((b) => [Math.round((Date.parse(b.start) - t0) / binMs), b]));
    const all = [], ans = [];
    for (let i = 0; i < n; i++) { const b = byStart.get(i); all.push(b ? b.calls : 0); ans.push(b ? b.answered : 0); }
    const xl = (i) => fmtTime(new Date(t0 + i * binMs).toISOString()).slice(s.bin_s >= 86400 ? 0 : 5, s.bin_s >= 86400 ? 10 : 16);
    const per = s.bin_s >= 86400 ? 'day' : 'hour';
    const chart = qChart(all, { label: 'Calls per ' + per, unit: 'calls', color: '#5a86d0', kind: 'bar', xLabel: xl,
      max: Math.max(1, ...all) * 1.1 });
    out.append(figure('dash-per-time', 'Calls per ' + per + ' (' + TZ + ')', chart,
      qTable('Calls per ' + per, ['From', 'Calls', 'Answered'],
        s.bins.map((b) => [timeCell(b.start), [b.calls, 'num'], [b.answered, 'num']]))));
    // outcomes
    const oc = Object.entries(s.outcomes);
    out.append(figure('dash-outcomes', 'Outcomes',
      qChart(oc.map((x) => x[1]), { label: 'Calls per outcome: ' + oc.map((x) => words(x[0]) + ' ' + x[1]).join(', '),
        unit: 'calls', color: '#1a7f37', kind: 'bar', xLabel: (i) => words(oc[i][0]), max: Math.max(1, ...oc.map((x) => x[1])) * 1.1 }),
      qTable('Calls per outcome', ['Outcome', 'Calls'], oc.map((x) => [words(x[0]), [x[1], 'num']]))));
    // the MOS distribution
    const bands = s.mos_bands;
    const bandName = (b, i) => words(b.band) + ' (' + (i ? b.mos_from.toFixed(2) + '–' + bands[i - 1].mos_from.toFixed(2)
      : '≥ ' + b.mos_from.toFixed(2)) + ')';
    out.append(figure('dash-mos', 'MOS distribution (worst direction; ITU-T G.107 Table B.1 bands)',
      qChart(bands.map((b) => b.calls), { label: 'Calls per MOS band: ' + bands.map((b) => b.band + ' ' + b.calls).join(', '),
        unit: 'calls', color: '#0a58ca', kind: 'bar', xLabel: (i) => words(bands[i].band),
        max: Math.max(1, ...bands.map((b) => b.calls)) * 1.1 }),
      qTable('Calls per MOS band', ['Band (MOS)', 'Calls'], bands.map((b, i) => [bandName(b, i), [b.calls, 'num']]))));
    // the worst calls, routes and rules
    out.append(el('h3', 'Worst calls'));
    const wc = s.worst_calls.map((c) => {
      const a = el('a');
      a.href = '#/call/' + c.id;
      a.append(timeCell(c.start));
      const p = c.parties || {};
      return [a, party(p.caller) || c.caller, party(p.callee) || c.callee, qualityBadge('mos', c.quality.mos),
        qualityBadge('loss', c.quality.loss_pct), qualityBadge('jitter', c.quality.jitter_p95_ms)];
    });
    out.append(wc.length ? qTable('Lowest MOS first', ['Start', 'Caller', 'Callee', 'MOS', 'Loss', 'Jitter'], wc, 'dash-worst-calls')
      : el('p', 'No call with quality figures in this period.', 'status'));
    const routeRows = (list, key) => list.map((r) => [key(r), [r.calls, 'num'],
      r.with_quality ? qualityBadge('mos', r.mos_avg) : '–', r.with_quality ? qFmt(r.mos_min) : '–',
      r.with_quality ? qualityBadge('loss', r.loss_avg_pct) : '–']);
    out.append(el('h3', 'Worst routes'));
    out.append(qTable('Media addresses (caller → callee), lowest mean MOS first',
      ['Route', 'Calls', 'Mean MOS', 'Lowest MOS', 'Mean loss'],
      routeRows(s.worst_routes, (r) => r.caller_addr + ' → ' + r.callee_addr), 'dash-worst-routes'));
    out.append(qTable('Recording rules, lowest mean MOS first', ['Rule', 'Calls', 'Mean MOS', 'Lowest MOS', 'Mean loss'],
      routeRows(s.worst_rules, (r) => r.rule), 'dash-worst-rules'));
    return out;
  }

  async function open(h) {
    const my = ++seq;
    const qi = h.indexOf('?');
    const q = new URLSearchParams(qi >= 0 ? h.slice(qi + 1) : '');
    const to = q.get('to') || new Date().toISOString();
    const from = q.get('from') || new Date(Date.parse(to) - 86400e3).toISOString();
    const status = el('p', 'Loading…', 'status');
    status.id = 'dash-status';
    status.setAttribute('aria-live', 'polite');
    body().replaceChildren(form(from, to), status);
    showError(null);
    try {
      const u = new URLSearchParams({ from: from.replace(/\.\d{3}Z$/, 'Z'), to: to.replace(/\.\d{3}Z$/, 'Z') });
      const s = await api('GET', '/api/stats?' + u.toString());
      if (my !== seq) return;
      status.textContent = 'From ' + fmtTime(s.from) + ' to ' + fmtTime(s.to) + ' (' + TZ + ')';
      body().append(render(s));
    } catch (e) {
      if (my !== seq) return;
      status.textContent = '';
      showError(e);
    }
  }

  window.earshotViews['#/dashboard'] = {
    view: 'dashboard-view',
    open: (h) => { open(h); },
    close: () => { seq++; },
  };
})();
