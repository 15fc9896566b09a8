// earshot web UI: the calls being recorded now (GET /api/active), refreshed
// every two seconds while the page is shown.  Uses app.js's api(), el(),
// row(), party(), fmtTime(), fmtDur() and showError().
'use strict';

(function () {
  const REFRESH_MS = 2000;
  let timer = null;
  let built = false;

  function build() {
    if (built) return;
    built = true;
    const body = document.getElementById('live-body');
    const status = el('p', '', 'status');
    status.id = 'live-status';
    status.setAttribute('aria-live', 'polite');
    const table = el('table', null, 'grid');
    table.id = 'live-calls';
    const cap = el('caption', 'Calls in progress', 'sr-only');
    const head = document.createElement('thead');
    const tr = document.createElement('tr');
    for (const [h, cls] of [['Started (' + TZ + ')'], ['Caller'], ['Callee'], ['State'], ['Duration', 'num'],
      ['Recording'], ['Source'], ['Codec'], ['Packets', 'num'], ['Lost', 'num'], ['Jitter max (ms)', 'num']]) {
      const th = el('th', h, cls);
      th.scope = 'col';
      tr.append(th);
    }
    head.append(tr);
    table.append(cap, head, document.createElement('tbody'));
    body.append(status, table);
    // the recorder's recent alert events (GET /api/alerts; hidden for agents)
    const al = el('section');
    al.id = 'live-alerts';
    al.hidden = true;
    const at = el('table', null, 'grid');
    at.id = 'live-alerts-table';
    const ah = document.createElement('thead');
    const atr = document.createElement('tr');
    for (const h of ['Raised (' + TZ + ')', 'Alert', 'Severity', 'Message']) {
      const th = el('th', h);
      th.scope = 'col';
      atr.append(th);
    }
    ah.append(atr);
    at.append(el('caption', 'Recent alerts'), ah, document.createElement('tbody'));
    al.append(at);
    body.append(al);
  }

  async function refreshAlerts() {
    const sec = document.getElementById('live-alerts');
    // agents see their own calls only: the alerts (any call's) are not theirs
    if (!state.user || state.user.role === 'agent') { sec.hidden = true; return; }
    let a;
    try { a = await api('GET', '/api/alerts?limit=20'); } catch (e) { sec.hidden = true; return; }
    sec.hidden = false;
    document.getElementById('live-alerts-table').tBodies[0].replaceChildren(...a.alerts.map((e) => {
      const tr = row([fmtTime(e.time), e.alert, [e.severity, 'severity-' + e.severity], e.message]);
      tr.dataset.eventId = e.id;
      return tr;
    }));
  }

  function callRow(c) {
    const rec = c.recording ? 'yes' + (c.rule ? ' (' + c.rule + ')' : '') : 'no' + (c.rule ? ' (' + c.rule + ')' : '');
    const tr = row([fmtTime(c.start), party(c.caller), party(c.callee), [c.state, 'state-' + c.state],
      [fmtDur(c.duration_s), 'num'], rec, c.source, c.codec || '', [c.packets, 'num'], [c.lost, 'num'],
      [c.jitter_max_ms.toFixed(1), 'num']]);
    tr.dataset.callId = c.call_id;
    return tr;
  }

  async function refresh() {
    timer = null;
    try {
      const a = await api('GET', '/api/active');
      const tbody = document.getElementById('live-calls').tBodies[0];
      tbody.replaceChildren(...a.calls.map(callRow));
      refreshAlerts();
      const r = a.recorder;
      const n = a.calls.length;
      document.getElementById('live-status').textContent = r.running
        ? (n ? n + ' call' + (n === 1 ? '' : 's') + ' in progress' : 'No calls in progress') +
          ' (recorder pid ' + r.pid + ', updated ' + fmtTime(r.updated) + ')'
        : (r.problem || 'The recorder is not running') + '.';
      showError(null);
    } catch (e) {
      showError(e);
      if (e instanceof ApiError && e.status === 401) return;
    }
    if (!document.getElementById('live-view').hidden) timer = setTimeout(refresh, REFRESH_MS);
  }

  window.earshotViews['#/live'] = {
    view: 'live-view',
    open() {
      build();
      document.getElementById('live-title').focus();
      if (timer) clearTimeout(timer);
      refresh();
    },
    close() {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
})();
