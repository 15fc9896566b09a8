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
  ['f-codec', 'codec'], ['f-flag', 'flag'], ['f-source', 'source'], ['f-tag', 'tag'], ['f-sort', 'sort'],
  ['f-callid', 'call_id'], ['f-maxmos', 'max_mos'], ['f-minloss', 'min_loss'], ['f-limit', 'limit'],
  ['f-text', 'text'], ['f-textparty', 'text_party'], ['f-keyword', 'keyword'], ['f-minsent', 'min_sentiment'],
  ['f-maxsent', 'max_sentiment']];
const PAGE_SIZES = ['25', '50', '100', '200'];

function formFromUrl(q) {
  for (const [id, name] of FILTERS) $(id).value = q.get(name) || (name === 'sort' ? '-start' : '');
  if (!PAGE_SIZES.includes($('f-limit').value)) $('f-limit').value = String(PAGE);
  $('f-from').value = q.get('from') ? localInput(q.get('from')) : '';
  $('f-to').value = q.get('to') ? localInput(q.get('to')) : '';
}

function searchHash(q) {
  const u = new URLSearchParams(q);
  if (u.get('limit') === String(PAGE)) u.delete('limit');
  u.delete('total');
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
  for (const [id, name] of [['f-codec', 'codec'], ['f-flag', 'flag'], ['f-source', 'source'], ['f-tag', 'tag'],
    ['f-callid', 'call_id'], ['f-maxmos', 'max_mos'], ['f-minloss', 'min_loss'], ['f-text', 'text'],
    ['f-textparty', 'text_party'], ['f-keyword', 'keyword'], ['f-minsent', 'min_sentiment'],
    ['f-maxsent', 'max_sentiment']]) {
    const v = $(id).value.trim();
    if (v) q.set(name, v);
  }
  q.set('sort', $('f-sort').value || '-start');
  q.set('limit', PAGE_SIZES.includes($('f-limit').value) ? $('f-limit').value : String(PAGE));
  q.set('total', '1'); // the first page asks for the count (one query); "More" does not
  return q;
}

// ---- quality at a glance: thresholds shown by colour and by a word ---------------------
// MOS limits: ITU-T G.107 Table B.1 (R 80 "satisfied" = MOS 4.03, R 70 "some
// users dissatisfied" = 3.60); loss and jitter p95 limits as docs/QUALITY.md gives them.
const QUALITY_LIMITS = {
  mos: { good: (v) => v >= 4.03, fair: (v) => v >= 3.60, fmt: (v) => v.toFixed(2) },
  loss: { good: (v) => v < 1, fair: (v) => v < 3, fmt: (v) => v.toFixed(v < 10 ? 2 : 1) + ' %' },
  jitter: { good: (v) => v < 30, fair: (v) => v < 50, fmt: (v) => v.toFixed(0) + ' ms' },
};

function qualityLevel(kind, v) {
  const l = QUALITY_LIMITS[kind];
  return l.good(v) ? 'good' : l.fair(v) ? 'fair' : 'poor';
}

// A cell's content: "3.45 poor", coloured by its level (class q-good/q-fair/q-poor).
function qualityBadge(kind, v) {
  if (v === null || v === undefined || !isFinite(v)) return el('span', '–', 'q-none');
  const level = qualityLevel(kind, +v);
  const s = el('span', QUALITY_LIMITS[kind].fmt(+v) + ' ' + level, 'q q-' + level);
  s.dataset.level = level;
  return s;
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
  const q = c.quality || {};
  const tr = row([link, party(p.caller) || c.caller, party(p.callee) || c.callee,
    [fmtDur(c.duration_s), 'num'], [words(c.outcome), 'outcome-' + c.outcome],
    qualityBadge('mos', q.mos), qualityBadge('loss', q.loss_pct), qualityBadge('jitter', q.jitter_p95_ms), flags], $('results'));
  for (const i of [5, 6, 7]) tr.cells[i].classList.add('num');
  tr.dataset.id = c.id;
  tr.addEventListener('click', (ev) => { if (ev.target.tagName !== 'A') location.hash = '#/call/' + c.id; });
  return tr;
}

// ---- transcript hits: under a call's row, each party's snippet and the
// times of its hits; a time opens the call, whose first Play starts there
// (#/call/ID?t=SECONDS, web/transcript.js).  The snippet is the server's
// text with the hits in [ ]: shown as text, the hits marked.

function snippetNodes(snip) {
  const out = [];
  const re = /\[([^\]]*)\]/g;
  let at = 0, m;
  while ((m = re.exec(snip))) {
    if (m.index > at) out.push(document.createTextNode(snip.slice(at, m.index)));
    out.push(el('mark', m[1]));
    at = m.index + m[0].length;
  }
  if (at < snip.length) out.push(document.createTextNode(snip.slice(at)));
  return out;
}

function hitRow(c, hits) {
  const tr = document.createElement('tr');
  tr.className = 'trx-search-hits';
  const td = document.createElement('td');
  td.colSpan = $('results').tHead.rows[0].cells.length;
  for (const h of hits) {
    const p = el('p', '');
    p.append(el('strong', h.party === 'caller' ? 'Caller: ' : 'Callee: '), '"', ...snippetNodes(h.snippet || ''), '" ');
    for (const ms of h.at_ms || []) {
      const a = el('a', fmtClock(ms / 1000));
      a.href = '#/call/' + c.id + '?t=' + (ms / 1000).toFixed(1);
      a.className = 'trx-hit-at';
      a.setAttribute('aria-label', 'Open call ' + c.id + ' at the ' + h.party + "'s hit, " + fmtDur(ms / 1000));
      p.append(a);
    }
    td.append(p);
  }
  tr.append(td);
  return tr;
}

async function runSearch(append) {
  if (append && state.loading) return; // "More" is pressed again while its page loads
  showError(null);
  const q = new URLSearchParams(state.query);
  if (append && state.cursor) q.set('cursor', state.cursor);
  if (append) q.delete('total');
  if (!append) { markSort(q.get('sort') || '-start'); loadSaved(); }
  $('search-status').textContent = 'Searching…';
  state.loading = true;
  $('more').disabled = true;
  $('more').title = 'Loading the next page…';
  try {
    const page = await api('GET', '/api/calls?' + q.toString());
    const body = $('results').tBodies[0];
    if (!append) body.replaceChildren();
    for (const c of page.calls) {
      body.append(callRow(c));
      const h = page.hits && page.hits[c.id];
      if (h && h.length) body.append(hitRow(c, h));
    }
    if (typeof exportRows === 'function') exportRows(body); // web/export.js
    state.cursor = page.next_cursor;
    if (typeof callflowCsvLink === 'function') callflowCsvLink(state.query); // web/callflow.js
    $('more').hidden = !page.next_cursor;
    const n = body.querySelectorAll('tr[data-id]').length; // not the hit rows
    if (!append) state.total = page.total === undefined ? null : page.total;
    const t = state.total;
    const calls = (k) => k.toLocaleString('en-US') + ' call' + (k === 1 ? '' : 's');
    $('search-status').textContent = !n ? 'No calls match.'
      : t !== null && t !== undefined ? calls(t) + (t > n ? ' (' + n.toLocaleString('en-US') + ' shown)' : '')
        : calls(n) + (page.next_cursor ? ' (more available)' : '');
  } catch (e) {
    $('search-status').textContent = '';
    if (e instanceof ApiError && e.status === 501 && q.get('text')) {
      // a PostgreSQL index has no transcript search yet: say so, not a broken page
      if (!append) $('results').tBodies[0].replaceChildren();
      $('more').hidden = true;
      $('search-status').textContent = 'Searching the words said is not available on this server ' +
        '(its index has no transcript search yet). Clear "Words said" to search by the other filters.';
    } else showError(e);
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

// ---- sortable columns: a click asks the server for that order (sort=) ------------------

function markSort(sort) {
  for (const th of $('results').tHead.querySelectorAll('th[data-sort]')) {
    const k = th.dataset.sort;
    const on = sort === k || (k === 'start' && sort === '-start');
    th.setAttribute('aria-sort', !on ? 'none' : sort === '-start' || k === 'loss' || k === 'jitter' ? 'descending' : 'ascending');
  }
}

// Each sortable heading gets a button: Start flips newest/oldest first; MOS,
// Loss and Jitter put the worst calls first (the server's quality sorts).
function sortHeaders() {
  for (const th of $('results').tHead.querySelectorAll('th[data-sort]')) {
    const k = th.dataset.sort;
    const b = el('button', '', 'sort');
    b.type = 'button';
    b.append(...th.childNodes);
    b.title = k === 'start' ? 'Sort by start time (again: reverse)' : 'Sort by ' + k + ', worst first';
    b.addEventListener('click', () => {
      const cur = $('f-sort').value;
      $('f-sort').value = k !== 'start' ? k : cur === '-start' ? 'start' : '-start';
      onSearch(new Event('submit'));
    });
    th.append(b);
  }
}

// ---- saved searches per user (GET/POST/DELETE /api/searches) ---------------------------

async function loadSaved() {
  try {
    fillSaved((await api('GET', '/api/searches')).searches || []);
  } catch (e) { /* the list stays as it was; the search itself reports errors */ }
}

function fillSaved(list) {
  const sel = $('saved-list');
  const keep = sel.value;
  sel.replaceChildren(el('option', list.length ? 'choose…' : 'none saved'));
  sel.options[0].value = '';
  for (const x of list) {
    const o = el('option', x.name);
    o.value = String(x.id);
    o.dataset.query = x.query;
    sel.append(o);
  }
  sel.value = [...sel.options].some((o) => o.value === keep) ? keep : '';
  savedButtons();
}

function savedButtons() {
  const none = !$('saved-list').value;
  $('saved-delete').disabled = none;
  if (none) $('saved-delete').title = 'Choose a saved search first';
  else $('saved-delete').removeAttribute('title');
}

async function onSaveSearch(ev) {
  ev.preventDefault();
  const name = $('saved-name').value.trim();
  if (!name) return;
  // the filters and the order; the page size stays the user's choice when it runs
  const q = searchParams();
  for (const k of ['limit', 'total', 'cursor']) q.delete(k);
  if (q.get('sort') === '-start') q.delete('sort');
  showError(null);
  try {
    fillSaved((await api('POST', '/api/searches', { name, query: q.toString() })).searches || []);
    $('saved-status').textContent = 'Saved as "' + name + '".';
    $('saved-name').value = '';
  } catch (e) { showError(e); }
}

async function onDeleteSearch() {
  const o = $('saved-list').selectedOptions[0];
  if (!o || !o.value) return;
  showError(null);
  try {
    fillSaved((await api('DELETE', '/api/searches/' + encodeURIComponent(o.value))).searches || []);
    $('saved-status').textContent = 'Deleted "' + o.textContent + '".';
  } catch (e) { showError(e); }
}

function onPickSearch() {
  savedButtons();
  const o = $('saved-list').selectedOptions[0];
  if (o && o.value) location.hash = '#/calls' + (o.dataset.query ? '?' + o.dataset.query : '');
}

document.addEventListener('DOMContentLoaded', () => {
  sortHeaders();
  $('saved-form').addEventListener('submit', onSaveSearch);
  $('saved-delete').addEventListener('click', onDeleteSearch);
  $('saved-list').addEventListener('change', onPickSearch);
  $('f-limit').addEventListener('change', () => onSearch(new Event('submit')));
});
