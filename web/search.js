// earshot web UI: the call search (the Calls view).  Its filters live in the
// URL (#/calls?party=...&from=...Z), so a search survives a reload and can be
// shared; route() in app.js fills the form from the hash and runs it.
// Uses api(), state, $(), el(), row(), timeCell(), words() and the other
// helpers of app.js (classic scripts share the global scope).
'use strict';

// ---- search ---------------------------------------------------------------------------

// datetime-local "2026-01-15T09:00[:SS]" is the browser's local time; the API's are UTC.
function timeParam(v) {
  const d = v ? new Date(v) : null;
  return d && !isNaN(d) ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '';
}

// ...and back: an API time as the datetime-local input's value.
function localInput(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  return fmtTime(iso).replace(' ', 'T');
}

// The filters live in the URL (#/calls?party=...): reload and shared links keep them.
const FILTERS = [['f-party', 'party'], ['f-outcome', 'outcome'], ['f-min', 'min_duration'], ['f-max', 'max_duration'],
  ['f-codec', 'codec'], ['f-flag', 'flag'], ['f-source', 'source'], ['f-tag', 'tag'], ['f-sort', 'sort']];

function formFromUrl(q) {
  for (const [id, name] of FILTERS) $(id).value = q.get(name) || (name === 'sort' ? '-start' : '');
  $('f-from').value = q.get('from') ? localInput(q.get('from')) : '';
  $('f-to').value = q.get('to') ? localInput(q.get('to')) : '';
}

function searchHash(q) {
  const u = new URLSearchParams(q);
  u.delete('limit');
  if (u.get('sort') === '-start') u.delete('sort');
  const t = u.toString();
  return '#/calls' + (t ? '?' + t : '');
}

function searchParams() {
  const q = new URLSearchParams();
  const party = $('f-party').value.trim();
  if (party) q.set('party', party);
  if ($('f-from').value) q.set('from', timeParam($('f-from').value));
  if ($('f-to').value) q.set('to', timeParam($('f-to').value));
  if ($('f-outcome').value) q.set('outcome', $('f-outcome').value);
  if ($('f-min').value !== '') q.set('min_duration', String(Math.max(0, Math.floor(+$('f-min').value))));
  if ($('f-max').value !== '') q.set('max_duration', String(Math.max(0, Math.floor(+$('f-max').value))));
  for (const [id, name] of [['f-codec', 'codec'], ['f-flag', 'flag'], ['f-source', 'source'], ['f-tag', 'tag']]) {
    const v = $(id).value.trim();
    if (v) q.set(name, v);
  }
  q.set('sort', $('f-sort').value || '-start');
  q.set('limit', String(PAGE));
  return q;
}

function callRow(c) {
  const p = c.parties || {};
  const link = el('a');
  link.append(timeCell(c.start));
  link.href = '#/call/' + c.id;
  const flags = document.createElement('span');
  for (const f of [...(c.flags || []), ...((c.recording && c.recording.flags) || [])]) {
    const s = el('span', words(f), 'flag');
    s.dataset.code = f;
    flags.append(s);
  }
  if (!c.recording) flags.append(el('span', 'No recording', 'flag'));
  const tr = row([link, party(p.caller) || c.caller, party(p.callee) || c.callee,
    [fmtDur(c.duration_s), 'num'], [words(c.outcome), 'outcome-' + c.outcome], flags], $('results'));
  tr.dataset.id = c.id;
  tr.addEventListener('click', (ev) => { if (ev.target.tagName !== 'A') location.hash = '#/call/' + c.id; });
  return tr;
}

async function runSearch(append) {
  if (append && state.loading) return; // "More" is pressed again while its page loads
  showError(null);
  const q = new URLSearchParams(state.query);
  if (append && state.cursor) q.set('cursor', state.cursor);
  $('search-status').textContent = 'Searching…';
  state.loading = true;
  $('more').disabled = true;
  $('more').title = 'Loading the next page…';
  try {
    const page = await api('GET', '/api/calls?' + q.toString());
    const body = $('results').tBodies[0];
    if (!append) body.replaceChildren();
    for (const c of page.calls) body.append(callRow(c));
    state.cursor = page.next_cursor;
    if (typeof callflowCsvLink === 'function') callflowCsvLink(state.query); // web/callflow.js
    $('more').hidden = !page.next_cursor;
    const n = body.rows.length;
    $('search-status').textContent = n ? n + ' call' + (n === 1 ? '' : 's') + (page.next_cursor ? ' (more available)' : '')
      : 'No calls match.';
  } catch (e) {
    $('search-status').textContent = '';
    showError(e);
  } finally {
    state.loading = false;
    $('more').disabled = false;
    $('more').removeAttribute('title');
  }
}

// A new search goes through the URL (route() runs it), so it can be reloaded and shared.
function onSearch(ev) {
  ev.preventDefault();
  const h = searchHash(searchParams());
  if (location.hash === h) { state.query = null; route(); } else location.hash = h;
}
