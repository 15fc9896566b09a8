// earshot web UI: plain JavaScript over the REST API (docs/openapi.yaml).
// No framework, no build step.  Everything the server sends is put in the
// page as text (textContent), never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
const PAGE = 25;

// Views defined in other files register themselves here (see route()).
window.earshotViews = window.earshotViews || {};

const state = {
  user: null,        // {user, role, ...} from /api/me or /api/login
  csrf: null,        // the session's CSRF token: kept in memory only
  mfaToken: null,    // the pending token between the two login steps (memory only)
  reasons: {},       // call id -> the reason for listening given in this session
  cursor: null,      // next_cursor of the last search page
  query: null,       // URLSearchParams of the current search
  loading: false,    // a search page is being fetched ("More" waits for it)
  callSeq: 0,        // bumped per call opened: late answers for an older one are dropped
  focusFirst: false, // after logging in: focus the first field of the page shown
  call: null,        // the call shown
  startAt: 0,        // #/call/ID?t=SECONDS (a search hit, a bookmark's link): the first Play starts there
  audioGraph: null,  // Web Audio nodes for mute/solo, made on first use
  mix: { caller: { mute: false, solo: false }, callee: { mute: false, solo: false } },
};

// ---- HTTP ---------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || ('HTTP ' + status));
    this.status = status;
    this.body = body;
  }
}

async function api(method, path, body) {
  const headers = {};
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
  const r = await fetch(path, init);
  let data = null;
  if ((r.headers.get('Content-Type') || '').startsWith('application/json')) data = await r.json();
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

function showError(e) {
  const box = $('error');
  if (!e) { box.hidden = true; box.textContent = ''; return; }
  if (e instanceof ApiError && e.status === 401 && state.user) {
    // the session ended (expired, logged out elsewhere)
    setUser(null);
    route();
  }
  box.textContent = e instanceof ApiError ? ('Error ' + e.status + ': ' + e.message) : String(e.message || e);
  box.hidden = false;
}

// ---- small helpers --------------------------------------------------------------------

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

// A table row; at phone width each cell shows its column's heading (data-label)
// when the table is given.
function row(cells, table) {
  const tr = document.createElement('tr');
  const heads = table && table.tHead ? [...table.tHead.rows[0].cells].map((th) => th.textContent.trim()) : [];
  cells.forEach((c, i) => {
    let td;
    if (c instanceof Node) { td = el('td'); td.append(c); } else {
      const [v, cls] = Array.isArray(c) ? c : [c];
      td = el('td', v === null || v === undefined ? '' : v, cls);
    }
    if (heads[i]) td.dataset.label = heads[i];
    tr.append(td);
  });
  return tr;
}

// Form and table pieces the views share (admin.js, account.js, qaforms.js,
// teams.js, qa.js): a label around its input, an input with attributes, a
// button (aria-label when its text alone is ambiguous), a status line that
// screen readers announce, its text and state, and a grid table with a
// hidden caption and column headings ([text, class] pairs).
function uiLabelled(text, input, cls) {
  const l = el('label', text, cls);
  l.append(input);
  return l;
}

function uiInput(type, name, attrs) {
  const i = document.createElement('input');
  i.type = type;
  i.name = name;
  for (const [k, v] of Object.entries(attrs || {})) i.setAttribute(k, v);
  return i;
}

function uiButton(text, onClick, cls, label) {
  const b = el('button', text, cls);
  b.type = 'button';
  if (label) b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

function uiStatus(id) {
  const p = el('p', '', 'status');
  p.id = id;
  p.setAttribute('aria-live', 'polite');
  return p;
}

function uiSay(p, text, cls) {
  if (!p) return;
  p.textContent = text;
  p.className = 'status' + (cls ? ' ' + cls : '');
}

function uiTable(id, caption, heads) {
  const t = el('table', null, 'grid');
  t.id = id;
  t.append(el('caption', caption, 'sr-only'));
  const head = document.createElement('thead');
  const tr = document.createElement('tr');
  for (const [h, cls] of heads) {
    const th = el('th', h, cls);
    th.scope = 'col';
    tr.append(th);
  }
  head.append(tr);
  t.append(head, document.createElement('tbody'));
  return t;
}

// Times: the API's are UTC; the page shows them in the browser's zone, named
// in the column headings, with the UTC time on hover (timeCell()).
const TZ = (() => { try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time'; } catch (e) { return 'local time'; } })();
const pad2 = (n) => String(n).padStart(2, '0');

function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  const ms = /\.(\d+)Z$/.exec(iso); // the API's milliseconds, when it gives them
  return d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate()) + ' ' +
    pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds()) + (ms ? '.' + ms[1] : '');
}

function fmtUtc(iso) { return iso ? iso.replace('T', ' ').replace(/(\.\d+)?Z$/, '') + ' UTC' : ''; }

// A <time> element: local text, the UTC instant as its datetime and title.
function timeCell(iso) {
  const t = el('time', fmtTime(iso));
  if (iso) { t.dateTime = iso; t.title = fmtUtc(iso); }
  return t;
}

// Human words for the API's codes (outcomes, flags, end reasons, kinds).
const WORDS = {
  no_answer: 'No answer', in_progress: 'In progress', one_way: 'One-way audio', no_media: 'No media',
  recording_cut: 'Recording cut', not_recorded: 'Not recorded', no_invite: 'INVITE not seen',
  siprec: 'SIPREC', dtmf: 'DTMF', bye: 'BYE', cancel: 'CANCEL', rtp_timeout: 'RTP timeout',
};
function words(code) {
  if (code === null || code === undefined || code === '') return '';
  const c = String(code);
  if (WORDS[c]) return WORDS[c];
  const t = c.replace(/_/g, ' ');
  return t.charAt(0).toUpperCase() + t.slice(1);
}

function fmtDur(s) {
  if (s === null || s === undefined || !isFinite(s)) return '';
  s = Math.max(0, s);
  const m = Math.floor(s / 60), r = s - m * 60;
  return m + ':' + (r < 10 ? '0' : '') + r.toFixed(r < 60 && s < 60 ? 1 : 0);
}

function fmtClock(s) {
  if (!isFinite(s)) s = 0;
  const m = Math.floor(s / 60), r = Math.floor(s % 60);
  return m + ':' + String(r).padStart(2, '0');
}

function party(p) {
  if (!p) return '';
  return p.display ? p.display + ' <' + (p.user || p.uri || '') + '>' : (p.user || p.uri || '');
}

function show(view) {
  for (const v of ['login-view', 'search-view', 'call-view', 'live-view', 'admin-view', 'account-view', 'holds-view',
    'dashboard-view', 'qa-report-view', 'clip-view']) if ($(v)) $(v).hidden = v !== view;
  // the page's title names the view (its heading)
  const h = $(view) && $(view).querySelector('h2');
  document.title = (h && h.textContent.trim() ? h.textContent.trim() + ' – ' : '') + 'earshot';
  if (state.focusFirst && view !== 'login-view' && view !== 'call-view') {
    state.focusFirst = false;
    const f = $(view).querySelector('input, select, textarea');
    if (f) f.focus();
  }
}

// ---- login / logout -----------------------------------------------------------------------

function setUser(u) {
  if (!u || !state.user || u.user !== state.user.user) state.reasons = {};
  state.user = u;
  state.csrf = u ? u.csrf : null;
  $('who').hidden = !u;
  $('who-name').textContent = u ? u.user + ' (' + u.role + ')' : '';
  $('nav').hidden = !u;
  // The admin area: users and rules for admins, the audit log for auditors too.
  $('nav-admin').hidden = !(u && (u.role === 'admin' || u.role === 'auditor'));
  // Legal holds: admins and auditors (the compliance officer's role).
  $('nav-holds').hidden = !(u && (u.role === 'admin' || u.role === 'auditor'));
  // The dashboard: the roles that see every call (GET /api/stats).
  $('nav-dashboard').hidden = !(u && u.role !== 'agent');
  // QA reports (web/qa.js): the roles that may evaluate (GET /api/reports/qa).
  $('nav-reports').hidden = !(u && u.permissions && u.permissions.evaluate && u.permissions.evaluate !== 'none');
}

// A second factor owed by the user's role and not yet enrolled: the server
// answers 403 to everything but enrolment, so the account page is shown.
function mfaOwed(u) {
  return !!(u && (u.mfa_enrolment_required || (u.mfa && u.mfa.required && !u.mfa.enrolled)));
}

// The step of the login form shown: 'password' or 'totp' (the second one,
// with the pending token kept in memory only).
function loginStep(step, token) {
  state.mfaToken = step === 'totp' ? token : null;
  $('login-form').hidden = step !== 'password';
  $('totp-form').hidden = step !== 'totp';
  $('totp-form').reset();
  useRecovery(false);
  (step === 'totp' ? $('login-code') : $('login-name')).focus();
}

function useRecovery(on) {
  $('login-code').hidden = $('login-code-label').hidden = on;
  $('login-recovery').hidden = $('login-recovery-label').hidden = !on;
  $('totp-use-recovery').textContent = on ? 'Use a code from the app instead' : 'Use a recovery code instead';
  $('totp-hint').textContent = on ? 'Enter one of your recovery codes (each works once).'
    : 'Enter the 6-digit code your authenticator app shows for earshot.';
  if (!$('totp-form').hidden) (on ? $('login-recovery') : $('login-code')).focus();
}

// Signed in (either step): the session's user, then the page asked for.
async function signedIn(u) {
  state.focusFirst = true;
  setUser(u);
  // /api/me adds the permissions (what the page offers)
  try { setUser(Object.assign(await api('GET', '/api/me'), { mfa_enrolment_required: u.mfa_enrolment_required })); } catch (e) { /* keep the login's answer */ }
  loginStep('password');
  const want = mfaOwed(state.user) ? '#/account'
    : !location.hash || location.hash === '#/login' ? '#/calls' : null;
  if (want && location.hash !== want) location.hash = want; // route() on hashchange
  else route();
}

async function onLogin(ev) {
  ev.preventDefault();
  showError(null);
  const name = $('login-name').value.trim();
  const password = $('login-password').value;
  $('login-submit').disabled = true;
  try {
    const u = await api('POST', '/api/login', { name, password });
    $('login-password').value = '';
    if (u.mfa_required) loginStep('totp', u.mfa_token);
    else await signedIn(u);
  } catch (e) {
    showError(e);
    $('login-password').focus();
  } finally {
    $('login-submit').disabled = false;
  }
}

async function onTotp(ev) {
  ev.preventDefault();
  showError(null);
  const recovery = !$('login-recovery').hidden;
  const body = { token: state.mfaToken };
  if (recovery) body.recovery_code = $('login-recovery').value.trim();
  else body.code = $('login-code').value.replace(/\s/g, '');
  $('totp-submit').disabled = true;
  try {
    await signedIn(await api('POST', '/api/login/totp', body));
  } catch (e) {
    showError(e);
    // an unknown or expired first step: the password again
    if (e instanceof ApiError && e.status === 401 && e.body && e.body.parameter === 'token') loginStep('password');
    else (recovery ? $('login-recovery') : $('login-code')).select();
  } finally {
    $('totp-submit').disabled = false;
  }
}

async function onLogout() {
  showError(null);
  stopAudio();
  try { await api('POST', '/api/logout'); } catch (e) { if (!(e instanceof ApiError && e.status === 401)) showError(e); }
  setUser(null);
  state.cursor = null;
  state.query = null;
  $('results').tBodies[0].replaceChildren();
  location.hash = '#/login';
  route();
}

// ---- one call -------------------------------------------------------------------------------

function meta(dl, pairs) {
  dl.replaceChildren();
  for (const [k, v] of pairs) {
    if (v === null || v === undefined || v === '') continue;
    if (v instanceof Node) {
      if (!v.textContent) continue;
      const dd = el('dd');
      dd.append(v);
      dl.append(el('dt', k), dd);
    } else dl.append(el('dt', k), el('dd', v));
  }
}

// Each party's consent state with its evidence's source: one read-only line.
function consentText(k) {
  if (!k) return null;
  const ev = k.evidence || {};
  return ['caller', 'callee'].map(r => {
    const src = ev[r] && ev[r].source;
    return r + ' ' + k[r] + (src ? ' (' + src + ')' : '');
  }).join(', ');
}

function eventLabel(e) {
  const m = /digit=([^ ]+)/.exec(e.detail || '');
  if (e.kind === 'dtmf') return m ? m[1] : '•';
  if (e.kind === 'pause') return '⏸';
  if (e.kind === 'resume') return '▶';
  return '•';
}

function stopAudio() {
  const a = $('audio');
  a.pause();
  a.preload = 'none'; // the next call's audio waits for Play again
  a.removeAttribute('src');
  a.load();
}

// Empty the call page: nothing of the previous call stays on screen while
// the next one loads, or under its error.
function clearCall(title) {
  state.call = null;
  stopAudio();
  waveformClear(); // web/waveform.js
  if (typeof bookmarksClear === 'function') bookmarksClear(); // web/bookmarks.js
  if (typeof callflowClear === 'function') { callflowClear(); $('export-pcap').hidden = true; } // web/callflow.js
  $('export-audio').hidden = true; // web/export.js shows it again for the call
  $('call-title').textContent = title;
  $('call-meta').replaceChildren();
  for (const t of ['parties', 'streams', 'events', 'messages']) $(t).tBodies[0].replaceChildren();
  $('tags').replaceChildren();
  $('notes').replaceChildren();
  $('markers').replaceChildren();
  for (const id of ['verify-result', 'tag-status', 'note-status']) $(id).textContent = '';
  $('verify-result').className = '';
  for (const id of ['player', 'annotations', 'no-tags', 'export']) $(id).hidden = true;
  if (typeof qualityClear === 'function') qualityClear(); // web/quality.js
  if (typeof transcriptClear === 'function') transcriptClear(); // web/transcript.js
  if (typeof qaClear === 'function') qaClear(); // web/qa.js
}

async function openCall(id) {
  showError(null);
  const seq = ++state.callSeq;
  clearCall('Call ' + id + ': loading…');
  show('call-view');
  let c;
  try {
    c = await api('GET', '/api/calls/' + encodeURIComponent(id));
  } catch (e) {
    if (seq !== state.callSeq) return;
    clearCall('Call ' + id + ': not shown');
    document.title = 'Call ' + id + ' – earshot';
    showError(e);
    return;
  }
  if (seq !== state.callSeq) return; // another call was opened meanwhile
  state.call = c;
  $('player').hidden = false;
  $('annotations').hidden = false;
  const p = c.parties || {};
  $('call-title').textContent = 'Call ' + c.id + ': ' + (party(p.caller) || c.caller) + ' → ' + (party(p.callee) || c.callee);
  document.title = 'Call ' + c.id + ' – earshot';
  const rec = c.recording;
  meta($('call-meta'), [
    ['Start (' + TZ + ')', timeCell(c.start)], ['Answered', timeCell(c.answer)], ['End', timeCell(c.end)],
    ['Duration', fmtDur(c.duration_s)], ['Outcome', words(c.outcome) + (c.sip_code ? ' (' + c.sip_code + ')' : '')],
    ['End reason', words(c.end_reason)], ['Source', words(c.source)], ['Rule', c.rule], ['Call-ID', c.call_id],
    ['Flags', (c.flags || []).map(words).join(', ')], ['Consent', consentText(c.consent)],
    ['Recording', rec ? rec.format + ', ' + rec.channels + ' channel' + (rec.channels === 1 ? '' : 's') + ', ' +
      rec.rate + ' Hz, ' + fmtDur(rec.duration_s) + ', ' + rec.bytes + ' bytes' +
      (rec.flags && rec.flags.length ? ' (' + rec.flags.join(', ') + ')' : '') : 'none'],
    ['SHA-256', rec && rec.sha256],
  ]);

  const pb = $('parties').tBodies[0];
  pb.replaceChildren();
  for (const role of ['caller', 'callee']) {
    const x = p[role];
    if (x) pb.append(row([words(role), x.user, x.display, x.uri, x.pai, x.user_agent, x.sdp_addr], $('parties')));
  }

  const sb = $('streams').tBodies[0];
  sb.replaceChildren();
  for (const s of c.streams || []) {
    const loss = s.expected ? (100 * s.lost / s.expected).toFixed(2) + ' %' : '';
    sb.append(row([s.party, s.ssrc, s.src + ' → ' + s.dst, s.codecs, [s.packets, 'num'], [s.lost, 'num'],
      [loss, 'num'], [(+s.jitter_mean_ms).toFixed(2) + ' / ' + (+s.jitter_max_ms).toFixed(2), 'num'],
      [s.duplicates, 'num'], [s.out_of_order, 'num']], $('streams')));
  }
  if (!sb.rows.length) sb.append(row(['no RTP streams']));

  const eb = $('events').tBodies[0];
  eb.replaceChildren();
  for (const e of c.events || []) {
    const off = e.recording_offset_s;
    const cell = off === null || off === undefined ? '' : seekButton(off, fmtDur(off));
    eb.append(row([cell, timeCell(e.time), words(e.kind), words(e.party), e.detail], $('events')));
  }
  if (!eb.rows.length) eb.append(row(['no events']));

  const mb = $('messages').tBodies[0];
  mb.replaceChildren();
  for (const m of c.messages || []) {
    const notes = [m.sdp ? 'SDP' : '', m.retransmission ? 'retransmission' : ''].filter(Boolean).join(', ');
    mb.append(row([timeCell(m.time), m.src, m.dst, m.label, m.cseq + ' ' + m.cseq_method, m.transport, notes], $('messages')));
  }

  setupPlayer(c);
  if (typeof qualityShow === 'function') qualityShow(c); // web/quality.js
  if (typeof transcriptShow === 'function') transcriptShow(c, () => state.call === c); // web/transcript.js
  if (typeof qaShow === 'function') qaShow(c); // web/qa.js
  const ex = $('export');
  ex.hidden = !rec || perm('export') === 'none';
  ex.href = '/api/calls/' + c.id + '/evidence';
  ex.setAttribute('download', 'call-' + c.id + '-evidence.zip');
  const canTag = perm('tag') !== 'none';
  $('tag-form').hidden = !canTag;
  $('note-form').hidden = !canTag;
  $('tag-status').textContent = '';
  $('note-status').textContent = '';
  renderTags(c, c.tags || []);
  loadNotes(c.id);
  $('call-title').focus();
}

// ---- tags and notes ---------------------------------------------------------------------------

function perm(action) {
  const p = state.user && state.user.permissions;
  return p && p[action] ? p[action] : 'all'; // unknown: offer it, the server decides
}

// Tags of call c; the remove buttons act on c, whatever is shown later.
function renderTags(c, tags) {
  if (state.call !== c) return;
  const ul = $('tags');
  ul.replaceChildren();
  const canTag = perm('tag') !== 'none';
  for (const t of tags) {
    const li = el('li');
    li.append(el('span', t, 'tag'));
    if (canTag) {
      const b = el('button', '×');
      b.type = 'button';
      b.setAttribute('aria-label', 'Remove tag ' + t);
      b.title = 'Remove tag ' + t;
      b.addEventListener('click', () => removeTag(c, t));
      li.append(b);
    }
    ul.append(li);
  }
  $('no-tags').hidden = tags.length > 0;
}

async function onAddTag(ev) {
  ev.preventDefault();
  const c = state.call; // the call the tag is for, captured now
  if (!c) return;
  const input = $('tag-input');
  const tag = input.value.trim();
  if (!tag) return;
  $('tag-add').disabled = true;
  showError(null);
  try {
    const r = await api('POST', '/api/calls/' + c.id + '/tags', { tag });
    c.tags = r.tags;
    renderTags(c, r.tags);
    if (state.call !== c) return;
    input.value = '';
    $('tag-status').textContent = 'Tag "' + tag + '" added.';
  } catch (e) {
    if (e instanceof ApiError && e.status === 409) $('tag-status').textContent = 'The call has this tag already.';
    else showError(e);
  } finally {
    $('tag-add').disabled = false;
    input.focus();
  }
}

async function removeTag(c, tag) {
  if (!c) return;
  showError(null);
  try {
    const r = await api('DELETE', '/api/calls/' + c.id + '/tags/' + encodeURIComponent(tag));
    c.tags = r.tags;
    renderTags(c, r.tags);
    if (state.call !== c) return;
    $('tag-status').textContent = 'Tag "' + tag + '" removed.';
    $('tag-input').focus();
  } catch (e) {
    showError(e);
  }
}

function renderNotes(notes) {
  const ol = $('notes');
  ol.replaceChildren();
  for (const n of notes) {
    const li = el('li');
    const by = el('span', n.user + ', ', 'by');
    by.append(timeCell(n.created));
    li.append(by);
    li.append(document.createTextNode(n.text));
    ol.append(li);
  }
  if (!notes.length) ol.append(el('li', 'No notes.', 'by'));
}

async function loadNotes(id) {
  $('notes').replaceChildren();
  try {
    const r = await api('GET', '/api/calls/' + id + '/notes');
    if (state.call && String(state.call.id) === String(id)) renderNotes(r.notes || []);
  } catch (e) {
    showError(e);
  }
}

async function onAddNote(ev) {
  ev.preventDefault();
  const c = state.call;
  if (!c) return;
  const input = $('note-input');
  const text = input.value;
  if (!text.trim()) return;
  $('note-add').disabled = true;
  showError(null);
  try {
    const r = await api('POST', '/api/calls/' + c.id + '/notes', { text });
    if (state.call !== c) return; // saved on c; another call is shown now
    renderNotes(r.notes || []);
    input.value = '';
    $('note-status').textContent = 'Note added.';
  } catch (e) {
    showError(e);
  } finally {
    $('note-add').disabled = false;
    input.focus();
  }
}

function seekButton(offset, text) {
  const b = el('button', text);
  b.type = 'button';
  b.className = 'seek';
  b.title = 'Play from ' + fmtDur(offset);
  b.addEventListener('click', () => seek(offset, true));
  return b;
}

// The recording is fetched only when the user plays or seeks (preload="none",
// no src before): opening a call page neither downloads the audio nor writes
// a call.listen audit entry; the waveform's peaks come with the first play.
// [api] listen_reason (GET /api/me): why the user listens, asked before the
// first playback of a call in this session and sent with the audio request
// (the server records it in call.listen).  '' when not asked, null when the
// user cancelled or gave none where one is required.
function listenReason(c) {
  const mode = state.user && state.user.listen_reason;
  if (!mode || mode === 'off') return '';
  if (state.reasons[c.id] !== undefined) return state.reasons[c.id];
  const r = window.prompt('Why are you listening to this call? ' + (mode === 'required'
    ? '(Required. It is recorded in the audit log.)' : '(Optional. It is recorded in the audit log.)'), '');
  if (r === null || (mode === 'required' && !r.trim())) return null;
  state.reasons[c.id] = r.trim().slice(0, 200);
  return state.reasons[c.id];
}

function loadAudio() {
  const a = $('audio');
  const c = state.call;
  if (a.getAttribute('src')) return true;
  if (!c || !c.recording || !canListen()) return false;
  const why = listenReason(c);
  if (why === null) { showError(new Error('Playback needs a reason for listening')); return false; }
  a.preload = 'auto'; // asked for now: a seek must load the metadata too
  a.src = '/api/calls/' + c.id + '/audio' + (why ? '?reason=' + encodeURIComponent(why) : '');
  a.playbackRate = a.defaultPlaybackRate = +$('speed').value;
  waveformLoad(c); // web/waveform.js
  return true;
}

function canListen() { return perm('listen') !== 'none'; }

function togglePlay() {
  const a = $('audio');
  const first = !a.getAttribute('src');
  if (!loadAudio()) return;
  // the link's time (#/call/ID?t=): the first Play starts there, then it is forgotten
  const at = first ? state.startAt : 0;
  state.startAt = 0;
  if (at > 0) { seek(at, true); return; }
  if (a.paused) a.play().catch(showError); else a.pause();
}

function seek(t, play) {
  const a = $('audio');
  if (!loadAudio()) return;
  if (a.readyState < 1) { // no metadata yet: seek once it is there
    a.addEventListener('loadedmetadata', () => { a.currentTime = t; onTimeUpdate(); }, { once: true });
  } else a.currentTime = t;
  if (play) a.play().catch(showError);
}

function recDuration() {
  const a = $('audio');
  if (isFinite(a.duration) && a.duration > 0) return a.duration;
  return state.call && state.call.recording ? state.call.recording.duration_s : 0;
}

function setupPlayer(c) {
  const rec = c.recording;
  const listen = canListen();
  $('no-recording').hidden = !!rec;
  // no player at all for a role that may not listen (an auditor without the grant)
  $('no-listen').hidden = !rec || listen;
  $('player-body').hidden = !rec || !listen;
  $('verify').disabled = !rec;
  $('verify').title = rec ? 'Check the recording against the index and the integrity ledger'
    : 'Nothing to verify: this call has no recording';
  $('verify').hidden = perm('verify') === 'none';
  const markers = $('markers');
  markers.replaceChildren();
  $('progress').style.width = '0';
  $('time').textContent = '0:00 / ' + fmtClock(rec ? rec.duration_s : 0);
  buildMix(rec);
  timelineAria();
  if (typeof redactShow === 'function') redactShow(c); // web/redact.js
  if (typeof callflowShow === 'function') callflowShow(c, () => state.call === c); // web/callflow.js
  if (typeof exportShow === 'function') exportShow(c); // web/export.js
  if (typeof talkTimelineShow === 'function') talkTimelineShow(c); // web/timeline.js
  waveformClear();
  if (typeof bookmarksShow === 'function') bookmarksShow(c); // web/bookmarks.js
  if (!rec || !listen) return;
  drawMarkers();
}

function drawMarkers() {
  const c = state.call;
  const markers = $('markers');
  markers.replaceChildren();
  const dur = recDuration();
  if (!c || !dur) return;
  for (const e of c.events || []) {
    const off = e.recording_offset_s;
    if (off === null || off === undefined || off < 0 || off > dur) continue;
    const b = el('button', eventLabel(e), 'marker ' + e.kind);
    b.type = 'button';
    b.style.left = (100 * off / dur) + '%';
    b.title = e.kind + ' ' + (e.detail || '') + ' at ' + fmtDur(off) + ' (' + (e.party || '') + ')';
    b.setAttribute('aria-label', b.title);
    b.dataset.offset = String(off);
    b.addEventListener('click', (ev) => { ev.stopPropagation(); seek(off, false); });
    markers.append(b);
  }
}

function onTimelineClick(ev) {
  const box = $('timeline').getBoundingClientRect();
  const dur = recDuration();
  if (!dur || !box.width) return;
  seek(Math.min(dur, Math.max(0, (ev.clientX - box.left) / box.width * dur)), false);
}

// The timeline is a slider for assistive technology and the keyboard.
function timelineAria() {
  const t = $('timeline');
  const a = $('audio');
  const dur = recDuration();
  const now = a.getAttribute('src') ? a.currentTime : 0;
  t.setAttribute('aria-valuemin', '0');
  t.setAttribute('aria-valuemax', String(Math.round(dur)));
  t.setAttribute('aria-valuenow', String(Math.round(now)));
  t.setAttribute('aria-valuetext', fmtClock(now) + ' of ' + fmtClock(dur));
}

// Arrow keys seek 5 s back or forward, Page Up/Down 30 s, Home/End to the ends.
function onTimelineKey(ev) {
  const dur = recDuration();
  const a = $('audio');
  if (!dur) return;
  const steps = { ArrowLeft: -5, ArrowDown: -5, ArrowRight: 5, ArrowUp: 5, PageDown: -30, PageUp: 30 };
  let t;
  if (ev.key in steps) t = a.currentTime + steps[ev.key];
  else if (ev.key === 'Home') t = 0;
  else if (ev.key === 'End') t = dur;
  else return;
  ev.preventDefault();
  seek(Math.min(dur, Math.max(0, t)), false);
  onTimeUpdate();
}

// Space or k plays and pauses on the call page, unless focus is in a field or on a button.
function onPageKey(ev) {
  if ($('call-view').hidden || $('player-body').hidden || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.key !== ' ' && ev.key !== 'k' && ev.key !== 'K') return;
  const t = ev.target;
  if (t && t.closest && t.closest('input, textarea, select, button, a, [contenteditable]')) return;
  ev.preventDefault();
  togglePlay();
}

function onTimeUpdate() {
  const a = $('audio');
  const dur = recDuration();
  $('progress').style.width = dur ? Math.min(100, 100 * a.currentTime / dur) + '%' : '0';
  $('time').textContent = fmtClock(a.currentTime) + ' / ' + fmtClock(dur);
  timelineAria();
  waveformProgress(); // web/waveform.js
  if (typeof transcriptProgress === 'function') transcriptProgress(); // web/transcript.js
}

// ---- mute / solo per party (Web Audio: stereo, caller left, callee right) -----------------

function buildMix(rec) {
  const mix = $('mix');
  mix.replaceChildren();
  state.mix = { caller: { mute: false, solo: false }, callee: { mute: false, solo: false } };
  if (!rec || rec.channels !== 2) {
    $('mix-note').textContent = rec ? 'Mono recording: per-party mute/solo needs a stereo recording.' : '';
    return;
  }
  $('mix-note').textContent = '';
  for (const who of ['caller', 'callee']) {
    for (const what of ['mute', 'solo']) {
      const b = el('button', (what === 'mute' ? 'Mute ' : 'Solo ') + who);
      b.type = 'button';
      b.id = what + '-' + who;
      b.setAttribute('aria-pressed', 'false');
      b.addEventListener('click', () => {
        state.mix[who][what] = !state.mix[who][what];
        b.setAttribute('aria-pressed', String(state.mix[who][what]));
        applyMix();
      });
      mix.append(b);
    }
  }
}

// The graph is made on first use (a click: browsers allow an AudioContext then);
// an element's source can be made only once, so it is kept for the page's life.
function audioGraph() {
  if (state.audioGraph) return state.audioGraph;
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return null;
  const ctx = new Ctx();
  const src = ctx.createMediaElementSource($('audio'));
  const split = ctx.createChannelSplitter(2);
  const merge = ctx.createChannelMerger(2);
  const gains = [ctx.createGain(), ctx.createGain()];
  src.connect(split);
  gains.forEach((g, i) => { split.connect(g, i); g.connect(merge, 0, i); });
  merge.connect(ctx.destination);
  state.audioGraph = { ctx, gains };
  return state.audioGraph;
}

function applyMix() {
  const g = audioGraph();
  if (!g) { $('mix-note').textContent = 'This browser has no Web Audio: mute/solo unavailable.'; return; }
  if (g.ctx.state === 'suspended') g.ctx.resume();
  const m = state.mix;
  const anySolo = m.caller.solo || m.callee.solo;
  ['caller', 'callee'].forEach((who, i) => {
    const on = anySolo ? m[who].solo : !m[who].mute;
    g.gains[i].gain.value = on ? 1 : 0;
  });
  $('mix').dataset.gains = g.gains.map((x) => x.gain.value).join(',');
}

// ---- verify ------------------------------------------------------------------------------

async function onVerify() {
  const c = state.call;
  if (!c) return;
  const out = $('verify-result');
  out.className = '';
  out.textContent = 'Verifying…';
  $('verify').disabled = true;
  try {
    const v = await api('GET', '/api/calls/' + c.id + '/verify');
    if (v.ok) {
      out.textContent = 'ok: the recording matches the index and the integrity ledger';
      out.className = 'ok';
    } else {
      const f = (v.findings || []).filter((x) => x.finding).map((x) => x.kind + ': ' + x.message);
      out.textContent = 'FAILED: ' + (f.join('; ') || 'see the server log');
      out.className = 'bad';
    }
  } catch (e) {
    out.textContent = '';
    showError(e);
  } finally {
    $('verify').disabled = false;
  }
}

// ---- routing (#/login, #/calls, #/call/ID) ---------------------------------------------------

// Mark the navigation link of the section shown (a call belongs to Calls).
function markNav(h) {
  const section = h.startsWith('#/live') ? 'nav-live' : h.startsWith('#/admin') ? 'nav-admin'
    : h.startsWith('#/account') ? 'nav-account' : h.startsWith('#/holds') ? 'nav-holds'
      : h.startsWith('#/dashboard') ? 'nav-dashboard' : h.startsWith('#/reports') ? 'nav-reports' : 'nav-calls';
  for (const id of ['nav-calls', 'nav-live', 'nav-admin', 'nav-account', 'nav-holds', 'nav-dashboard', 'nav-reports']) {
    if (id === section) $(id).setAttribute('aria-current', 'page');
    else $(id).removeAttribute('aria-current');
  }
}

function route() {
  const h = location.hash || '#/calls';
  markNav(h);
  if (!state.user) {
    for (const v of Object.values(window.earshotViews)) if (v.close) v.close();
    show('login-view');
    $('login-name').focus();
    return;
  }
  if (mfaOwed(state.user) && !h.startsWith('#/account')) {
    location.hash = '#/account'; // the only page open until a second factor is enrolled
    return;
  }
  const m = /^#\/call\/([1-9][0-9]{0,17})(?:\?t=([0-9]{1,7}(?:\.[0-9]{1,3})?))?$/.exec(h);
  if (m) {
    for (const v of Object.values(window.earshotViews)) if (v.close) v.close();
    state.startAt = m[2] ? +m[2] : 0; // no audio is fetched before Play: togglePlay() seeks there
    openCall(m[1]);
    return;
  }
  stopAudio();
  // Other views live in their own files (web/admin.js, web/live.js) and
  // register here: window.earshotViews['#/admin'] = {view: 'admin-view',
  // open(hash), close()}; close() is called when another view is shown.
  let found = null;
  for (const [prefix, v] of Object.entries(window.earshotViews)) {
    if (h === prefix || h.startsWith(prefix + '/') || h.startsWith(prefix + '?')) found = v;
    else if (v.close) v.close();
  }
  if (found) { show(found.view); found.open(h); return; }
  show('search-view');
  // "Back to the calls" and the Calls link return to this search
  $('back').href = $('nav-calls').href = h.startsWith('#/calls') ? h : '#/calls';
  const qi = h.indexOf('?');
  formFromUrl(new URLSearchParams(h.startsWith('#/calls') && qi >= 0 ? h.slice(qi + 1) : ''));
  const q = searchParams();
  if (!state.query || state.query.toString() !== q.toString()) {
    state.query = q;
    state.cursor = null;
    runSearch(false);
  }
}

async function start() {
  $('login-form').addEventListener('submit', onLogin);
  $('totp-form').addEventListener('submit', onTotp);
  $('totp-use-recovery').addEventListener('click', () => useRecovery($('login-recovery').hidden));
  $('totp-cancel').addEventListener('click', () => { showError(null); loginStep('password'); });
  $('logout').addEventListener('click', onLogout);
  $('search-form').addEventListener('submit', onSearch);
  $('search-form').addEventListener('reset', () => setTimeout(() => onSearch(new Event('submit')), 0));
  $('more').addEventListener('click', () => runSearch(true));
  $('verify').addEventListener('click', onVerify);
  $('tag-form').addEventListener('submit', onAddTag);
  $('note-form').addEventListener('submit', onAddNote);
  $('timeline').addEventListener('click', onTimelineClick);
  $('timeline').addEventListener('keydown', onTimelineKey);
  $('speed').addEventListener('change', () => {
    const a = $('audio');
    a.playbackRate = a.defaultPlaybackRate = +$('speed').value;
  });
  const a = $('audio');
  $('play').addEventListener('click', togglePlay);
  document.addEventListener('keydown', onPageKey);
  $('skip').addEventListener('click', (ev) => { // not a hash change: the hash is the route
    ev.preventDefault();
    const v = [...document.querySelectorAll('main > section')].find((x) => !x.hidden);
    const target = (v && v.querySelector('h2')) || $('main');
    if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
    target.focus();
  });
  for (const s of document.querySelectorAll('.tz')) s.textContent = '(' + TZ + ')';
  a.addEventListener('play', () => { $('play').textContent = 'Pause'; });
  a.addEventListener('pause', () => { $('play').textContent = 'Play'; });
  a.addEventListener('ended', () => { $('play').textContent = 'Play'; });
  a.addEventListener('timeupdate', onTimeUpdate);
  a.addEventListener('seeked', onTimeUpdate);
  a.addEventListener('loadedmetadata', () => { drawMarkers(); onTimeUpdate(); });
  a.addEventListener('error', () => { if (a.getAttribute('src')) showError(new Error('the audio cannot be played (' + (a.error ? a.error.code : '?') + ')')); });
  window.addEventListener('hashchange', route);
  try {
    setUser(await api('GET', '/api/me'));
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) showError(e);
  }
  route();
}

document.addEventListener('DOMContentLoaded', start);
