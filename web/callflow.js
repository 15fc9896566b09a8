// earshot web UI: the call flow on the call page.  A SIP ladder from GET
// /api/calls/{id}/sip (participants as columns, one arrow per message with
// its time and method or status; each message a button that shows its whole
// text), and the raw-data downloads for roles with the "export" permission
// (GET /api/calls/{id}/pcap: the call's SIP and RTP rebuilt as pcapng; on
// the search page GET /api/calls.csv with the search's filters).
// Uses api(), $(), el(), perm(), fmtTime() and state from app.js; app.js
// calls callflowShow(call, current) when a call page opens, current()
// telling whether that call is still the one on screen.
'use strict';

function callflowClear(text) {
  $('callflow-ladder').replaceChildren();
  $('callflow-text').hidden = true;
  $('callflow-text').textContent = '';
  $('callflow-status').textContent = text || '';
}

// The participants: each address:port in the order it first appears.
function callflowParties(msgs) {
  const cols = [];
  for (const m of msgs) for (const a of [m.src, m.dst]) if (!cols.includes(a)) cols.push(a);
  return cols;
}

function callflowSdp(m) {
  if (!m.sdp || !m.sdp.length) return '';
  return m.sdp.map((s) => s.type + ' ' + s.addr + ' ' + s.direction + ' ' + (s.codecs || []).join(' ')).join('; ');
}

function callflowSelect(btn, m) {
  for (const b of document.querySelectorAll('#callflow-ladder button[aria-pressed="true"]')) b.setAttribute('aria-pressed', 'false');
  btn.setAttribute('aria-pressed', 'true');
  const pre = $('callflow-text');
  pre.textContent = m.text;
  pre.hidden = false;
}

function callflowRender(msgs) {
  const cols = callflowParties(msgs);
  const t = el('table', null, 'ladder');
  const cap = el('caption', 'SIP ladder: ' + msgs.length + ' messages between ' + cols.length +
    ' addresses; choose a message to read its text');
  t.append(cap);
  const hr = el('tr');
  hr.append(el('th', 'Time', 'ladder-time'));
  for (const c of cols) { const th = el('th', c); th.scope = 'col'; hr.append(th); }
  t.createTHead().append(hr);
  const body = t.createTBody();
  const t0 = msgs.length ? msgs[0].ts_us : 0;
  msgs.forEach((m, i) => {
    const tr = el('tr');
    const ms = (m.ts_us - t0) / 1000;
    const when = el('td', '+' + (ms / 1000).toFixed(3) + ' s', 'ladder-time');
    when.title = fmtTime(new Date(m.ts_us / 1000).toISOString());
    tr.append(when);
    const a = cols.indexOf(m.src), b = cols.indexOf(m.dst);
    const lo = Math.min(a, b), hi = Math.max(a, b);
    for (let k = 0; k < lo; k++) tr.append(el('td', null, 'lifeline'));
    const td = el('td', null, 'arrow ' + (a <= b ? 'right' : 'left'));
    td.colSpan = hi - lo + 1;
    const sdp = callflowSdp(m);
    const btn = el('button', (a <= b ? '' : '← ') + m.label + (sdp ? ' (SDP)' : '') + (a <= b ? ' →' : ''));
    btn.type = 'button';
    btn.setAttribute('aria-pressed', 'false');
    btn.setAttribute('aria-label', 'Message ' + (i + 1) + ': ' + m.label + ' from ' + m.src + ' to ' + m.dst +
      ', ' + m.transport + (m.cseq ? ', CSeq ' + m.cseq : '') + (sdp ? ', SDP ' + sdp : ''));
    btn.title = (m.cseq ? 'CSeq ' + m.cseq + ' · ' : '') + m.transport + (sdp ? ' · ' + sdp : '');
    btn.addEventListener('click', () => callflowSelect(btn, m));
    td.append(btn);
    if (sdp) td.append(el('span', sdp, 'ladder-sdp'));
    tr.append(td);
    for (let k = hi + 1; k < cols.length; k++) tr.append(el('td', null, 'lifeline'));
    body.append(tr);
  });
  $('callflow-ladder').replaceChildren(t);
}

async function callflowShow(c, current) {
  callflowClear('loading the call flow…');
  const can = perm('export') !== 'none';
  const pcap = $('export-pcap');
  pcap.hidden = !can;
  pcap.href = '/api/calls/' + c.id + '/pcap';
  pcap.setAttribute('download', 'call-' + c.id + '.pcapng');
  let r;
  try {
    r = await api('GET', '/api/calls/' + encodeURIComponent(c.id) + '/sip');
  } catch (e) {
    if (!current()) return;
    pcap.hidden = true; // no raw data: nothing to download either
    callflowClear(e.status === 404 ? 'No call flow: this call has no raw data (kept for recorded calls only).'
      : 'The call flow could not be loaded.');
    return;
  }
  if (!current()) return;
  if (r && r.raw === false) {
    pcap.hidden = true; // no raw data: nothing to download either
    callflowClear('No call flow: this call has no raw data (kept for recorded calls only).');
    return;
  }
  const msgs = (r && r.messages) || [];
  callflowClear(msgs.length ? '' : 'No SIP messages were kept for this call.');
  if (msgs.length) callflowRender(msgs);
}

// The search page's CSV link: the same filters, every matching call (up to
// the server's cap), for roles with "export"; search.js calls it.
function callflowCsvLink(query) {
  const a = $('export-csv');
  const q = new URLSearchParams(query || '');
  q.delete('cursor');
  q.delete('limit');
  a.href = '/api/calls.csv' + (q.toString() ? '?' + q.toString() : '');
  a.hidden = perm('export') === 'none';
}
