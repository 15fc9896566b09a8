// earshot web UI: bookmarks, comments and clips on the call page (issue #18).
// The REST API is /api/calls/{id}/bookmarks, /api/calls/{id}/clips and
// /api/clips/{cid}[/audio|/export] (src/api/handlers_bookmarks.c): whoever
// may listen to a call may bookmark it and clip it; a clip's link is no
// bearer capability, the server checks the viewer's roles on every use.
// - markers in their own layer over the timeline (#bm-layer), apart from
//   the DTMF/pause markers and any other overlay;
// - "Bookmark here" at the playhead with a comment, a list under the player
//   (time, author, text; a click seeks), "Copy link" (#/call/42?t=73.5);
// - "Make clip" from a span (start/end set at the playhead), with its link
//   #/clip/7, a page that plays just the span.
// #/call/42?t=73.5 opens the call; the seek happens when the user presses
// Play (the audio is not fetched before: app.js's rule).
// Uses api(), el(), $(), state, perm(), seek(), showError(), listenReason(),
// fmtClock() from app.js; app.js calls bookmarksShow(c), bookmarksClear()
// and registers nothing else.
'use strict';

const BM = {
  call: null,      // the call whose bookmarks are shown
  list: [],
  mayDeleteAll: false,
  span: [null, null],
};

function bmClock(ms) {
  const s = ms / 1000;
  return fmtClock(s) + (ms % 1000 ? '.' + String(Math.floor(ms % 1000 / 100)) : '');
}

function bmLink(hash) {
  return location.origin + location.pathname + hash;
}

async function bmCopy(text, status) {
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = 'Link copied: ' + text;
  } catch (e) {
    status.textContent = 'Copy this link: ' + text; // no clipboard (http, permissions)
  }
}

// The panel under the player, made once.
function bmPanel() {
  let p = $('bookmarks');
  if (p) return p;
  p = el('section');
  p.id = 'bookmarks';
  p.className = 'bookmarks';
  p.setAttribute('aria-labelledby', 'bm-title');
  p.innerHTML =
    '<h3 id="bm-title">Bookmarks</h3>' +
    '<form id="bm-form" class="bm-form">' +
    '<label for="bm-text">Comment at <output id="bm-at">0:00</output></label>' +
    '<input id="bm-text" maxlength="2000" required autocomplete="off">' +
    '<button type="submit" id="bm-add">Bookmark here</button></form>' +
    '<p id="bm-status" class="status" aria-live="polite"></p>' +
    '<ol id="bm-list" class="bm-list" aria-labelledby="bm-title"></ol>' +
    '<p id="bm-none" class="status">No bookmarks.</p>' +
    '<form id="clip-form" class="bm-form">' +
    '<strong>Clip</strong>' +
    '<button type="button" id="clip-from">Start here</button>' +
    '<button type="button" id="clip-to">End here</button>' +
    '<output id="clip-span" aria-live="polite">no span</output>' +
    '<label for="clip-title">Title</label><input id="clip-title" maxlength="200" autocomplete="off">' +
    '<button type="submit" id="clip-make" disabled>Make clip</button></form>' +
    '<p id="clip-status" class="status" aria-live="polite"></p>';
  $('player').append(p);
  $('bm-form').addEventListener('submit', bmAdd);
  $('clip-from').addEventListener('click', () => bmSpanSet(0));
  $('clip-to').addEventListener('click', () => bmSpanSet(1));
  $('clip-form').addEventListener('submit', bmClipMake);
  $('audio').addEventListener('timeupdate', () => { $('bm-at').textContent = bmClock(bmNow()); });
  $('audio').addEventListener('loadedmetadata', () => {
    bmDrawMarkers();
  });
  return p;
}

function bmLayer() {
  let l = $('bm-layer');
  if (!l) {
    l = el('div');
    l.id = 'bm-layer';
    l.className = 'bm-layer';
    $('timeline').append(l);
  }
  return l;
}

function bmNow() {
  const a = $('audio');
  return Math.round((a.getAttribute('src') ? a.currentTime : (state.startAt || 0)) * 1000);
}

function bookmarksClear() {
  BM.call = null;
  BM.list = [];
  BM.span = [null, null];
  const l = $('bm-layer');
  if (l) l.replaceChildren();
  const p = $('bookmarks');
  if (p) p.hidden = true;
}

// The call page shows call c: its bookmarks, for a role that may listen.
async function bookmarksShow(c) {
  bookmarksClear();
  if (!c || !c.recording || perm('listen') === 'none') return;
  const p = bmPanel();
  BM.call = c;
  p.hidden = false;
  for (const id of ['bm-status', 'clip-status']) $(id).textContent = '';
  $('bm-text').value = '';
  $('clip-title').value = '';
  $('bm-at').textContent = bmClock(bmNow());
  bmSpanShow();
  if (state.startAt > 0) $('bm-status').textContent = 'Play starts at ' + bmClock(state.startAt * 1000) + '.';
  try {
    const r = await api('GET', '/api/calls/' + c.id + '/bookmarks');
    if (BM.call !== c) return;
    bmRender(c, r);
  } catch (e) {
    if (BM.call === c) $('bm-status').textContent = 'Bookmarks unavailable: ' + e.message;
  }
}

function bmRender(c, r) {
  BM.list = r.bookmarks || [];
  BM.mayDeleteAll = !!r.may_delete_all;
  const ol = $('bm-list');
  ol.replaceChildren();
  for (const b of BM.list) {
    const li = el('li');
    const at = el('button', bmClock(b.at_ms) + (b.end_ms !== null ? '–' + bmClock(b.end_ms) : ''), 'bm-time');
    at.type = 'button';
    at.title = 'Play from ' + bmClock(b.at_ms);
    at.addEventListener('click', () => seek(b.at_ms / 1000, true));
    li.append(at, el('span', b.user, 'by'), el('span', b.text, 'bm-text'));
    const copy = el('button', 'Copy link');
    copy.type = 'button';
    copy.addEventListener('click', () => bmCopy(bmLink('#/call/' + c.id + '?t=' + (b.at_ms / 1000)), $('bm-status')));
    li.append(copy);
    if (b.user === state.user.name || BM.mayDeleteAll) {
      const del = el('button', 'Delete');
      del.type = 'button';
      del.setAttribute('aria-label', 'Delete the bookmark at ' + bmClock(b.at_ms));
      del.addEventListener('click', () => bmDelete(c, b.id));
      li.append(del);
    }
    ol.append(li);
  }
  $('bm-none').hidden = BM.list.length > 0;
  bmDrawMarkers();
}

// The markers: their own layer, one per bookmark, a band for a span.
function bmDrawMarkers() {
  const l = bmLayer();
  l.replaceChildren();
  const c = BM.call;
  const dur = recDuration();
  if (!c || !dur) return;
  for (const b of BM.list) {
    const at = b.at_ms / 1000;
    if (at > dur) continue;
    const m = el('button', '', 'bm-marker');
    m.type = 'button';
    m.style.left = (100 * at / dur) + '%';
    if (b.end_ms !== null) m.style.width = Math.max(0.5, 100 * (Math.min(dur, b.end_ms / 1000) - at) / dur) + '%';
    m.title = bmClock(b.at_ms) + ' ' + b.user + ': ' + b.text;
    m.setAttribute('aria-label', 'Bookmark at ' + m.title);
    m.addEventListener('click', (ev) => { ev.stopPropagation(); seek(at, false); });
    l.append(m);
  }
}

async function bmAdd(ev) {
  ev.preventDefault();
  const c = BM.call;
  const text = $('bm-text').value.trim();
  if (!c || !text) return;
  $('bm-add').disabled = true;
  try {
    const r = await api('POST', '/api/calls/' + c.id + '/bookmarks', { at_ms: bmNow(), text });
    if (BM.call !== c) return;
    $('bm-text').value = '';
    $('bm-status').textContent = 'Bookmark added.';
    bmRender(c, r);
  } catch (e) {
    showError(e);
  } finally {
    $('bm-add').disabled = false;
  }
}

async function bmDelete(c, id) {
  try {
    const r = await api('DELETE', '/api/calls/' + c.id + '/bookmarks/' + id);
    if (BM.call === c) { bmRender(c, r); $('bm-status').textContent = 'Bookmark deleted.'; }
  } catch (e) {
    showError(e);
  }
}

function bmSpanSet(i) {
  BM.span[i] = bmNow();
  bmSpanShow();
}

function bmSpanShow() {
  const [a, b] = BM.span;
  const ok = a !== null && b !== null && b > a;
  $('clip-span').textContent = a === null && b === null ? 'no span'
    : (a === null ? '?' : bmClock(a)) + '–' + (b === null ? '?' : bmClock(b)) + (ok || b === null || a === null ? '' : ' (end before start)');
  $('clip-make').disabled = !ok;
}

async function bmClipMake(ev) {
  ev.preventDefault();
  const c = BM.call;
  const [a, b] = BM.span;
  if (!c || a === null || b === null || b <= a) return;
  const body = { start_ms: a, end_ms: b };
  if ($('clip-title').value.trim()) body.title = $('clip-title').value.trim();
  try {
    const k = await api('POST', '/api/calls/' + c.id + '/clips', body);
    if (BM.call !== c) return;
    const st = $('clip-status');
    st.replaceChildren();
    const link = el('a', 'Clip ' + k.id + ' (' + bmClock(k.start_ms) + '–' + bmClock(k.end_ms) + ')');
    link.href = '#/clip/' + k.id;
    link.id = 'clip-link';
    const copy = el('button', 'Copy link');
    copy.type = 'button';
    const note = el('span', '', 'status');
    copy.addEventListener('click', () => bmCopy(bmLink('#/clip/' + k.id), note));
    st.append(link, ' ', copy, ' ', note);
  } catch (e) {
    showError(e);
  }
}

// ---- #/clip/ID: a page that plays just the span -------------------------------------------

function clipView() {
  let v = $('clip-view');
  if (v) return v;
  v = el('section');
  v.id = 'clip-view';
  v.hidden = true;
  v.setAttribute('aria-labelledby', 'clip-h');
  v.innerHTML = '<h2 id="clip-h" tabindex="-1">Clip</h2>' +
    '<p id="clip-about" class="status"></p>' +
    '<div class="player-controls"><button type="button" id="clip-play">Play</button>' +
    '<span class="time" id="clip-time">0:00</span>' +
    '<a id="clip-export" class="button" href="#" download hidden>Download WAV</a></div>' +
    // one player rule (app.js): no native controls, nothing fetched before Play
    '<audio id="clip-audio" preload="none"></audio>';
  $('search-view').after(v); // not last in main: the page's last focusable stays where it was
  $('clip-play').addEventListener('click', clipPlay);
  const a = $('clip-audio');
  a.addEventListener('play', () => { $('clip-play').textContent = 'Pause'; });
  a.addEventListener('pause', () => { $('clip-play').textContent = 'Play'; });
  a.addEventListener('timeupdate', () => {
    $('clip-time').textContent = fmtClock(a.currentTime) + (isFinite(a.duration) ? ' / ' + fmtClock(a.duration) : '');
  });
  return v;
}

const CLIP = { id: null, meta: null };

async function clipOpen(h) {
  const v = clipView();
  const m = /^#\/clip\/([1-9][0-9]{0,8})$/.exec(h);
  const a = $('clip-audio');
  a.pause();
  a.removeAttribute('src');
  $('clip-time').textContent = '0:00';
  CLIP.id = m ? m[1] : null;
  CLIP.meta = null;
  $('clip-h').textContent = 'Clip';
  $('clip-about').textContent = '';
  $('clip-play').hidden = true;
  $('clip-export').hidden = true;
  if (!CLIP.id) { $('clip-about').textContent = 'No such clip.'; return; }
  const id = CLIP.id;
  try {
    const k = await api('GET', '/api/clips/' + id);
    if (CLIP.id !== id) return;
    CLIP.meta = k;
    $('clip-h').textContent = 'Clip ' + k.id + (k.title ? ': ' + k.title : '');
    document.title = $('clip-h').textContent + ' – earshot';
    const about = $('clip-about');
    about.replaceChildren('Call ', Object.assign(el('a', String(k.call)), { href: '#/call/' + k.call + '?t=' + k.start_ms / 1000 }),
      ', ' + bmClock(k.start_ms) + '–' + bmClock(k.end_ms) + ', made by ' + k.creator +
      (k.expires ? ', expires ' + k.expires : '') + '.');
    $('clip-play').hidden = false;
    if (perm('export') !== 'none') {
      $('clip-export').href = '/api/clips/' + k.id + '/export';
      $('clip-export').hidden = false;
    }
  } catch (e) {
    if (CLIP.id !== id) return;
    $('clip-about').textContent = e instanceof ApiError && (e.status === 404 || e.status === 403)
      ? 'No such clip, or you may not listen to its call.' : 'The clip cannot be shown: ' + e.message;
  }
}

function clipPlay() {
  const k = CLIP.meta;
  const a = $('clip-audio');
  if (!k) return;
  if (!a.getAttribute('src')) {
    const why = listenReason({ id: k.call });
    if (why === null) { showError(new Error('Playback needs a reason for listening')); return; }
    a.src = '/api/clips/' + k.id + '/audio' + (why ? '?reason=' + encodeURIComponent(why) : '');
  }
  if (a.paused) a.play().catch(showError); else a.pause();
}

function clipClose() {
  const a = $('clip-audio');
  if (!a) return;
  a.pause();
  a.removeAttribute('src');
  a.load();
}

window.earshotViews = window.earshotViews || {};
window.earshotViews['#/clip'] = { view: 'clip-view', open: clipOpen, close: clipClose };
clipView(); // deferred scripts run once the page is parsed: before app.js's start()
