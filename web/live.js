// earshot web UI: the calls being recorded now (GET /api/active), refreshed
// every two seconds while the page is shown; a row opens the call's panel,
// where the roles that may listen hear it live (GET /api/active/{id}/listen:
// an endless 16-bit stereo WAV, caller left and callee right, played with
// Web Audio as it arrives).  Uses app.js's api(), el(), row(), party(),
// fmtTime(), fmtDur(), perm() and showError().
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
    // the recorder's health (GET /api/active "health"; not shown to agents)
    const health = el('p', '', 'status');
    health.id = 'live-health';
    health.hidden = true;
    // the order of the rows: the API gives them in no particular order
    const sortLabel = el('label', 'Order of the calls ');
    const sort = el('select');
    sort.id = 'live-sort';
    for (const [v, t] of [['newest', 'Newest first'], ['longest', 'Longest first']]) {
      const o = el('option', t);
      o.value = v;
      sort.append(o);
    }
    sort.addEventListener('change', () => render());
    sortLabel.append(sort);
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
    table.tBodies[0].addEventListener('click', (ev) => {
      const tr = ev.target.closest('tr');
      if (tr && tr.dataset.callId) select(tr.dataset.callId);
    });
    body.append(status, health, sortLabel, table, buildPanel());
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

  // ---- the selected call: details and listen-in ------------------------------

  let selected = null;   // its Call-ID
  let lastCalls = [];
  let player = null;     // the stream being played

  function buildPanel() {
    const sec = el('section', null, 'live-call');
    sec.id = 'live-call';
    sec.hidden = true;
    sec.setAttribute('aria-labelledby', 'live-call-title');
    const h = el('h3', '', null);
    h.id = 'live-call-title';
    h.tabIndex = -1;
    const dl = el('dl', null, 'meta');
    dl.id = 'live-call-meta';
    const listen = el('button', 'Listen', null);
    listen.type = 'button';
    listen.id = 'live-listen';
    listen.addEventListener('click', () => (player ? stopListening('Stopped.') : startListening(selected)));
    const why = el('p', '', 'note');
    why.id = 'live-listen-why';
    const st = el('p', '', 'status');
    st.id = 'live-listen-status';
    st.setAttribute('aria-live', 'polite');
    sec.append(h, dl, listen, why, st);
    return sec;
  }

  // Listening in: the roles that may listen to recordings, never agents.
  function mayListen() {
    return !!state.user && state.user.role !== 'agent' && perm('listen') !== 'none';
  }

  function select(id) {
    if (player && id !== selected) stopListening('Stopped.');
    selected = id;
    for (const tr of document.getElementById('live-calls').tBodies[0].rows)
      tr.setAttribute('aria-selected', String(tr.dataset.callId === id));
    showPanel();
    document.getElementById('live-call-title').focus();
  }

  function showPanel() {
    const sec = document.getElementById('live-call');
    const c = lastCalls.find((x) => x.call_id === selected);
    sec.hidden = !selected;
    if (!selected) return;
    const listen = document.getElementById('live-listen');
    const why = document.getElementById('live-listen-why');
    if (!c) {
      document.getElementById('live-call-title').textContent = 'The call has ended';
      document.getElementById('live-call-meta').replaceChildren();
      if (!player) listen.hidden = true;
      why.textContent = 'Its recording is listed under Search once it is stored.';
      return;
    }
    document.getElementById('live-call-title').textContent = party(c.caller) + ' \u2192 ' + party(c.callee);
    const dl = document.getElementById('live-call-meta');
    dl.replaceChildren();
    for (const [k, v] of [['Call-ID', c.call_id], ['State', c.state], ['Started', fmtTime(c.start)],
      ['Duration', fmtDur(c.duration_s)], ['Codec', c.codec || ''], ['Recording', c.recording ? 'yes' : 'no']]) {
      dl.append(el('dt', k), el('dd', v));
    }
    const can = mayListen() && c.recording;
    listen.hidden = !mayListen();
    listen.disabled = !can && !player;
    listen.textContent = player ? 'Stop listening' : 'Listen';
    why.textContent = !mayListen() ? '' : !c.recording ? 'This call is not recorded, so it cannot be heard.'
      : 'Both parties, caller on the left, callee on the right; listening is audited.';
  }

  function listenStatus(t) { document.getElementById('live-listen-status').textContent = t; }

  // The header of the stream: its rate, channels and the capture time of the
  // first sample (earshot's "estm" chunk); null until it is all there.
  function parseHeader(b) {
    if (b.length < 12) return null;
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const tag = (o) => String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);
    if (tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error('the stream is not WAV');
    let off = 12;
    const h = { rate: 0, channels: 0, startUs: 0 };
    while (off + 8 <= b.length) {
      const id = tag(off), size = dv.getUint32(off + 4, true);
      if (id === 'data') { h.data = off + 8; return h; }
      if (off + 8 + size > b.length) return null;
      if (id === 'fmt ') { h.channels = dv.getUint16(off + 10, true); h.rate = dv.getUint32(off + 12, true); }
      if (id === 'estm') h.startUs = Number(dv.getBigInt64(off + 8, true));
      off += 8 + size;
    }
    return null;
  }

  // Play the call as it arrives: each piece becomes an AudioBuffer scheduled
  // right after the previous one.  The recorder writes its spool about once
  // a second, so pieces of about a second come about a second apart; a piece
  // that would start more than MAX_AHEAD_S from now is dropped (the page fell
  // behind, e.g. a background tab: stay live rather than drift).
  const MAX_AHEAD_S = 3.0, LEAD_S = 0.15;
  async function startListening(id) {
    const ctx = new AudioContext({ sampleRate: 48000 });
    const abort = new AbortController();
    const p = { ctx, abort, id, next: 0, frames: 0 };
    player = p;
    showPanel();
    listenStatus('Connecting\u2026');
    // a tap for the tests (window.earshotListenTap = {} before pressing
    // Listen): what the page decoded and scheduled, and when it plays
    const tap = window.earshotListenTap;
    if (tap) Object.assign(tap, { left: [], right: [], played: [], ctxRate: ctx.sampleRate });
    const out = ctx.createGain();
    out.connect(ctx.destination);
    let hdr = null, pend = new Uint8Array(0);
    try {
      const r = await fetch('/api/active/' + encodeURIComponent(id) + '/listen',
        { credentials: 'same-origin', signal: abort.signal });
      if (!r.ok) {
        let msg = 'Error ' + r.status;
        try { msg += ': ' + (await r.json()).message; } catch (e) { /* not JSON */ }
        throw new Error(msg);
      }
      const reader = r.body.getReader();
      listenStatus('Waiting for the call\u2019s audio\u2026');
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const b = new Uint8Array(pend.length + value.length);
        b.set(pend);
        b.set(value, pend.length);
        if (!hdr) {
          hdr = parseHeader(b);
          if (!hdr) { pend = b; continue; }
          if (hdr.channels !== 2) throw new Error('the stream has ' + hdr.channels + ' channels');
          if (tap) Object.assign(tap, { rate: hdr.rate, startUs: hdr.startUs });
          pend = b.subarray(hdr.data);
          listenStatus('Listening live.');
        } else {
          pend = b;
        }
        const n = Math.floor(pend.length / 4);
        if (n) {
          play(p, hdr, pend.subarray(0, 4 * n), out, tap);
          pend = pend.slice(4 * n);
        }
      }
      if (player === p) stopListening('The call ended.');
    } catch (e) {
      if (player === p) stopListening(e.name === 'AbortError' ? 'Stopped.' : 'Listening failed: ' + e.message);
    }
  }

  function play(p, hdr, bytes, out, tap) {
    const n = bytes.length / 4;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const ab = p.ctx.createBuffer(2, n, hdr.rate);
    const l = ab.getChannelData(0), r = ab.getChannelData(1);
    for (let i = 0; i < n; i++) {
      l[i] = dv.getInt16(4 * i, true) / 32768;
      r[i] = dv.getInt16(4 * i + 2, true) / 32768;
    }
    const first = p.frames;
    p.frames += n;
    const now = p.ctx.currentTime;
    const when = Math.max(p.next, now + LEAD_S);
    if (when > now + MAX_AHEAD_S) return; // too far behind: skip it
    const src = p.ctx.createBufferSource();
    src.buffer = ab;
    src.connect(out);
    src.start(when);
    p.next = when + n / hdr.rate;
    if (tap) {
      tap.left.push(...l);
      tap.right.push(...r);
      tap.ctxTime = p.ctx.currentTime;
      tap.ctxState = p.ctx.state;
      // when the last sample of this piece plays, on the page's clock (ms since the epoch)
      const ts = p.ctx.getOutputTimestamp();
      const wall = performance.timeOrigin + ts.performanceTime + (p.next - ts.contextTime) * 1000;
      tap.played.push([wall, first + n]);
    }
  }

  function stopListening(why) {
    const p = player;
    player = null;
    if (p) {
      p.abort.abort();
      p.ctx.close();
      if (window.earshotListenTap) window.earshotListenTap.ended = why;
    }
    listenStatus(why);
    showPanel();
  }

  function render() {
    const by = document.getElementById('live-sort').value;
    const key = by === 'longest' ? (c) => -c.duration_s : (c) => -Date.parse(c.start);
    const calls = [...lastCalls].sort((x, y) => key(x) - key(y) || (x.call_id < y.call_id ? -1 : 1));
    document.getElementById('live-calls').tBodies[0].replaceChildren(...calls.map(callRow));
    showPanel();
  }

  function fmtBytes(n) {
    const u = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : String(n)) + ' ' + u[i];
  }

  function showHealth(h) {
    const p = document.getElementById('live-health');
    p.hidden = !h;
    if (!h) return;
    const parts = [];
    if (h.capture_drops !== null) parts.push('Capture drops: ' + h.capture_drops);
    if (h.recording_backlog !== null) parts.push('Recording backlog: ' + h.recording_backlog +
      ' call' + (h.recording_backlog === 1 ? '' : 's'));
    if (h.spool_errors) parts.push('Spool errors: ' + h.spool_errors);
    if (h.disk_free_bytes !== null) parts.push('Disk free: ' + fmtBytes(h.disk_free_bytes) +
      (h.disk_low ? ' (below min_free)' : ''));
    p.textContent = parts.join(' \u00b7 ');
    p.classList.toggle('warn', !!(h.capture_drops || h.disk_low || h.spool_errors));
  }

  function callRow(c) {
    const rec = c.recording ? 'yes' + (c.rule ? ' (' + c.rule + ')' : '') : 'no' + (c.rule ? ' (' + c.rule + ')' : '');
    const tr = row([fmtTime(c.start), party(c.caller), party(c.callee), [c.state, 'state-' + c.state],
      [fmtDur(c.duration_s), 'num'], rec, c.source, c.codec || '', [c.packets, 'num'], [c.lost, 'num'],
      [c.jitter_max_ms.toFixed(1), 'num']]);
    tr.dataset.callId = c.call_id;
    tr.className = 'clickable';
    tr.setAttribute('aria-selected', String(c.call_id === selected));
    // the keyboard's way to the panel: the caller cell's button
    const b = el('button', party(c.caller), 'link');
    b.type = 'button';
    b.setAttribute('aria-label', 'Open the call of ' + party(c.caller) + ' to ' + party(c.callee));
    tr.cells[1].replaceChildren(b);
    return tr;
  }

  async function refresh() {
    timer = null;
    try {
      const a = await api('GET', '/api/active');
      lastCalls = a.calls;
      render();
      showHealth(a.health);
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
      if (player) stopListening('Stopped.');
    },
  };
})();
