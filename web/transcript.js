// earshot web UI: a call's transcript and what was found in it (issue #19,
// docs/ANALYTICS.md).  GET /api/calls/{id}/transcript gives both parties'
// words with their times (ms from the recording's start), spoken numbers
// only masked; the call's `speech` (GET /api/calls/{id}) gives the keyword
// hits, the required phrases not said and the sentiment per utterance.
// Shown on the call page:
//  - a panel with both parties as a conversation; it follows playback and
//    highlights the word at the playhead; a click on a word seeks there;
//  - the keyword hits as markers on the waveform, in their own layer
//    (#trx-kw-layer; other overlays of the timeline are not touched);
//  - the sentiment of each utterance as a small trend line under the
//    waveform, with a table as its text alternative.
// A search hit's link (#/call/ID?t=SECONDS) opens the call; the player
// starts there when Play is pressed (no audio is fetched before Play).
// Reading the transcript is audited (call.transcript) and, with [api]
// listen_reason, asks the reason first, as playback does: then the panel
// waits for a button.  Uses $(), el(), api(), state, seek(), fmtClock(),
// fmtDur(), fmtTime(), listenReason(), canListen(), recDuration() and
// showError() from app.js; app.js calls transcriptShow(call, current),
// transcriptClear() and transcriptProgress(); a hit's time (#/call/ID?t=)
// is app.js's state.startAt.
'use strict';

const TRX = {
  call: null,       // the call whose transcript is shown
  words: [],        // [{s, e, node}] of both parties, by start
  now: null,        // the highlighted word's node
  TURN_GAP_MS: 2000, // a pause this long within a party starts a new turn
  SVG: 'http://www.w3.org/2000/svg',
};

const TRX_PARTY = { caller: 'Caller', callee: 'Callee' };

// The call page's boxes, created once: the panel after the player, the
// sentiment figure under the waveform's legend, the marker layer in the timeline.
function trxBoxes() {
  let panel = $('trx-panel');
  if (!panel) {
    panel = document.createElement('section');
    panel.id = 'trx-panel';
    panel.className = 'trx-panel';
    panel.setAttribute('aria-labelledby', 'trx-title');
    const h = el('h3', 'Transcript');
    h.id = 'trx-title';
    const status = el('p', '', 'status');
    status.id = 'trx-status';
    const missing = el('ul', '', 'trx-missing');
    missing.id = 'trx-missing';
    const hits = el('ul', '', 'trx-hits');
    hits.id = 'trx-hits';
    const body = el('div', '', 'trx-body');
    body.id = 'trx-body';
    body.tabIndex = 0;
    body.setAttribute('role', 'region');
    body.setAttribute('aria-label', 'Conversation; a click on a word plays from there');
    panel.append(h, status, missing, hits, body);
    $('player').after(panel);
  }
  let fig = $('trx-sentiment');
  if (!fig) {
    fig = document.createElement('figure');
    fig.id = 'trx-sentiment';
    fig.className = 'trx-sentiment';
    $('waveform-legend').after(fig);
  }
  let layer = $('trx-kw-layer');
  if (!layer) {
    layer = el('div', '', 'trx-kw-layer');
    layer.id = 'trx-kw-layer';
    $('timeline').append(layer);
  }
  return { panel, fig, layer };
}

function transcriptClear() {
  TRX.call = null;
  TRX.words = [];
  TRX.now = null;
  const { panel, fig, layer } = trxBoxes();
  panel.hidden = true;
  for (const id of ['trx-body', 'trx-missing', 'trx-hits']) $(id).replaceChildren();
  $('trx-status').textContent = '';
  fig.hidden = true;
  fig.replaceChildren();
  layer.replaceChildren();
}

function transcriptShow(c, current) {
  transcriptClear();
  const sp = c && c.speech;
  if (!c || !c.recording || !sp || !(sp.transcribed || []).length) return;
  TRX.call = c;
  const listen = canListen();
  trxMissing(sp);
  trxHits(sp, listen);
  trxSentiment(sp);
  const { panel } = trxBoxes();
  panel.hidden = false;
  if (state.startAt) $('trx-status').textContent = 'Play starts at ' + fmtClock(state.startAt) + ' (the search hit).';
  if (!listen) {
    $('trx-status').textContent = 'Your role may not read transcripts.';
    return;
  }
  const mode = state.user && state.user.listen_reason;
  if (mode && mode !== 'off' && state.reasons[c.id] === undefined) {
    // asked only when the user wants the words: the reason is recorded
    const b = el('button', 'Show the transcript');
    b.type = 'button';
    b.id = 'trx-load';
    b.addEventListener('click', () => { b.remove(); trxLoad(c, current); });
    $('trx-body').append(b);
    return;
  }
  trxLoad(c, current);
}

async function trxLoad(c, current) {
  const why = listenReason(c);
  if (why === null) { $('trx-status').textContent = 'The transcript needs a reason for listening.'; return; }
  $('trx-status').textContent = 'Loading the transcript…';
  let t;
  try {
    t = await api('GET', '/api/calls/' + c.id + '/transcript' + (why ? '?reason=' + encodeURIComponent(why) : ''));
  } catch (e) {
    if (!current()) return;
    $('trx-status').textContent = 'The transcript cannot be shown: ' + e.message;
    return;
  }
  if (!current() || TRX.call !== c) return;
  $('trx-status').textContent = (t.parties || []).map((p) => TRX_PARTY[p.party] + ': ' + p.words.length +
    ' words (' + p.engine + ', ' + fmtTime(p.transcribed) + ')').join('; ') +
    (state.startAt ? '. Play starts at ' + fmtClock(state.startAt) + ' (the search hit).' : '');
  trxConversation(t);
  transcriptProgress();
}

// Both parties' words as turns in time order: a turn is one party's words
// without a pause of TURN_GAP_MS.
function trxTurns(t) {
  const all = [];
  for (const p of t.parties || []) for (const w of p.words) all.push(Object.assign({ party: p.party }, w));
  all.sort((a, b) => a.start_ms - b.start_ms || (a.party < b.party ? -1 : 1));
  const turns = [];
  const last = { caller: null, callee: null };
  for (const w of all) {
    let turn = last[w.party];
    if (!turn || w.start_ms - turn.end > TRX.TURN_GAP_MS || turns[turns.length - 1] !== turn) {
      turn = { party: w.party, start: w.start_ms, end: w.end_ms, words: [] };
      turns.push(turn);
      last[w.party] = turn;
    }
    turn.words.push(w);
    turn.end = Math.max(turn.end, w.end_ms);
  }
  return turns;
}

function trxConversation(t) {
  const body = $('trx-body');
  body.replaceChildren();
  const turns = trxTurns(t);
  if (!turns.length) { body.append(el('p', 'No words were recognised.', 'status')); return; }
  const words = [];
  for (const turn of turns) {
    const div = el('div', '', 'trx-turn trx-' + turn.party);
    const who = el('button', TRX_PARTY[turn.party] + ' ' + fmtClock(turn.start / 1000), 'trx-who');
    who.type = 'button';
    who.title = 'Play from ' + fmtDur(turn.start / 1000);
    who.addEventListener('click', () => seek(turn.start / 1000, false));
    const p = el('p', '', 'trx-text');
    for (const w of turn.words) {
      const s = el('span', w.w, 'trx-w' + (w.masked ? ' trx-masked' : ''));
      s.dataset.s = String(w.start_ms);
      s.dataset.e = String(w.end_ms);
      if (w.masked) s.title = 'a spoken number, masked';
      else if (w.conf !== null && w.conf !== undefined && w.conf < 0.5) s.classList.add('trx-unsure');
      p.append(s, ' ');
      words.push({ s: w.start_ms, e: w.end_ms, node: s });
    }
    div.append(who, p);
    body.append(div);
  }
  // one listener for all words: a click plays from the word
  body.onclick = (ev) => {
    const w = ev.target.closest && ev.target.closest('.trx-w');
    if (w) seek(+w.dataset.s / 1000, false);
  };
  words.sort((a, b) => a.s - b.s);
  TRX.words = words;
}

// The word being said at the playhead (the latest started that has not ended).
function trxWordAt(ms) {
  const ws = TRX.words;
  let lo = 0, hi = ws.length - 1, k = -1;
  while (lo <= hi) {
    const m = (lo + hi) >> 1;
    if (ws[m].s <= ms) { k = m; lo = m + 1; } else hi = m - 1;
  }
  for (let i = k; i >= 0 && i > k - 8; i--) if (ms < ws[i].e) return ws[i];
  return null;
}

// Called on every timeupdate and seek of the player.
function transcriptProgress() {
  if (!TRX.words.length) return;
  const a = $('audio');
  const w = a.getAttribute('src') ? trxWordAt(a.currentTime * 1000) : null;
  const node = w ? w.node : null;
  if (node === TRX.now) return;
  if (TRX.now) { TRX.now.classList.remove('trx-now'); TRX.now.removeAttribute('aria-current'); }
  TRX.now = node;
  if (!node) return;
  node.classList.add('trx-now');
  node.setAttribute('aria-current', 'true');
  // keep it in view inside the panel (the page itself does not scroll)
  const body = $('trx-body');
  const top = node.offsetTop - body.offsetTop;
  if (top < body.scrollTop || top > body.scrollTop + body.clientHeight - node.offsetHeight) {
    body.scrollTop = Math.max(0, top - body.clientHeight / 3);
  }
}

function trxMissing(sp) {
  const ul = $('trx-missing');
  for (const m of sp.missing || []) {
    ul.append(el('li', 'Required phrase not said: ' + m.category + ' (list ' + m.list + ', ' +
      (m.party === 'any' ? 'either party' : m.party) + ')'));
  }
}

// Keyword hits: a list (with the time to play from) and markers on the waveform.
function trxHits(sp, listen) {
  const ul = $('trx-hits');
  const layer = trxBoxes().layer;
  const dur = recDuration();
  for (const k of sp.keywords || []) {
    const t = k.start_ms / 1000;
    const label = 'Keyword ' + k.category + ': "' + k.phrase + '" (' + k.party + ') at ' + fmtDur(t);
    const li = el('li');
    if (listen) {
      const b = el('button', fmtClock(t), 'trx-hit');
      b.type = 'button';
      b.title = 'Play from ' + fmtDur(t);
      b.addEventListener('click', () => seek(t, false));
      li.append(b, ' ');
    }
    li.append(k.category + ': "' + k.phrase + '" (' + k.party + ')');
    ul.append(li);
    if (!listen || !dur || t < 0 || t > dur) continue;
    const m = el('button', '', 'trx-kw trx-kw-' + k.party);
    m.type = 'button';
    m.style.left = (100 * t / dur) + '%';
    m.title = label;
    m.setAttribute('aria-label', label);
    m.dataset.offset = String(t);
    m.addEventListener('click', (ev) => { ev.stopPropagation(); seek(t, false); });
    layer.append(m);
  }
}

function trxSvg(tag, attrs) {
  const n = document.createElementNS(TRX.SVG, tag);
  for (const k in attrs) n.setAttribute(k, String(attrs[k]));
  return n;
}

// The sentiment of each utterance (-1 .. 1) at its middle, a line per party.
function trxSentiment(sp) {
  const s = sp.sentiment;
  const fig = trxBoxes().fig;
  const utts = ((s && s.utterances) || []).filter((u) => u.score !== null && u.score !== undefined);
  const dur = recDuration() * 1000;
  if (!utts.length || !dur) return;
  fig.hidden = false;
  const W = 1000, H = 48;
  const svg = trxSvg('svg', { viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none',
    width: '100%', height: H, 'aria-hidden': 'true' });
  svg.append(trxSvg('rect', { x: 0, y: 0, width: W, height: H, class: 'trx-sent-bg' }));
  svg.append(trxSvg('line', { x1: 0, x2: W, y1: H / 2, y2: H / 2, class: 'trx-sent-zero' }));
  const y = (v) => (H / 2 - v * (H / 2 - 3)).toFixed(1);
  for (const party of ['caller', 'callee']) {
    const pts = utts.filter((u) => u.party === party)
      .map((u) => (W * (u.start_ms + u.end_ms) / 2 / dur).toFixed(1) + ',' + y(u.score));
    if (!pts.length) continue;
    if (pts.length === 1) pts.push(pts[0].replace(/^[^,]+/, (x) => String(+x + 4)));
    svg.append(trxSvg('polyline', { points: pts.join(' '), class: 'trx-sent-line trx-sent-' + party,
      'data-party': party, 'vector-effect': 'non-scaling-stroke' }));
  }
  const num = (v) => v === null || v === undefined ? '–' : (+v).toFixed(2);
  const cap = el('figcaption', 'Sentiment per utterance, −1 negative to +1 positive: caller (blue) ' +
    num(s.caller) + ', callee (orange) ' + num(s.callee) + ', call ' + num(s.call));
  const det = document.createElement('details');
  det.append(el('summary', 'Sentiment as a table'));
  const tb = el('table', '', 'grid');
  const head = tb.createTHead().insertRow();
  for (const h of ['Time', 'Party', 'Score']) head.append(el('th', h));
  const b = tb.createTBody();
  for (const u of utts) {
    const r = b.insertRow();
    r.insertCell().textContent = fmtClock(u.start_ms / 1000) + '–' + fmtClock(u.end_ms / 1000);
    r.insertCell().textContent = u.party;
    r.insertCell().textContent = num(u.score);
  }
  det.append(tb);
  fig.append(svg, cap, det);
}
