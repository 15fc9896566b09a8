// earshot web UI: the recording's waveform behind the player's timeline.
// GET /api/calls/{id}/peaks?points=N answers, per channel, N values 0..255:
// the largest absolute sample of each of N equal stretches of the file
// (channel 0 the caller, 1 the callee; a mixed recording has one).  The
// caller is drawn in the top half, growing up from the middle, the callee
// in the bottom half, growing down; the played part is drawn darker.
// Uses api(), state and $() from app.js (classic scripts share the global
// scope); app.js calls waveformLoad(call), waveformClear() and
// waveformProgress().
'use strict';

const WAVE = {
  callId: null,    // the call whose peaks are shown (or being fetched)
  peaks: null,     // the last answer of /peaks
  points: 0,       // the points asked for
  resizeTimer: 0,
  colors: {
    // played, not yet played: both at least 3:1 against the timeline (WCAG 1.4.11)
    caller: ['#1f4fa8', '#5a86d0'],
    callee: ['#8a4510', '#c0651a'],
    mid: '#8a8f99',
  },
};

// Points to ask for: one per CSS pixel of the canvas, within the API's limits.
function waveformPoints() {
  const w = Math.round($('waveform').clientWidth || 0);
  return Math.min(4000, Math.max(16, w));
}

function waveformStatus(text) {
  const s = $('waveform-status');
  s.textContent = text || '';
  s.hidden = !text;
}

function waveformClear() {
  WAVE.callId = null;
  WAVE.peaks = null;
  WAVE.points = 0;
  $('timeline').classList.remove('has-waveform');
  const cv = $('waveform');
  const g = cv.getContext('2d');
  if (g) g.clearRect(0, 0, cv.width, cv.height);
  cv.setAttribute('aria-label', 'Waveform: none');
  $('waveform-legend').hidden = true;
  waveformStatus('');
}

async function waveformLoad(c) {
  if (!c || !c.recording) { waveformClear(); return; }
  const id = c.id;
  const points = waveformPoints();
  if (WAVE.callId === id && WAVE.points === points && WAVE.peaks) { waveformDraw(); return; }
  WAVE.callId = id;
  WAVE.points = points;
  $('timeline').classList.add('has-waveform');
  waveformStatus('');
  let p;
  // 429: the server decodes this recording (or another of ours) now; the
  // first waveform of a long call takes a few seconds, then it is stored.
  for (let tries = 0; ; tries++) {
    try {
      p = await api('GET', '/api/calls/' + encodeURIComponent(id) + '/peaks?points=' + points);
      break;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 429 && tries < 30)) { p = e; break; }
      if (tries === 0) waveformStatus('Waveform: being computed…');
      await new Promise((resolve) => setTimeout(resolve, 2000));
      if (WAVE.callId !== id || WAVE.points !== points) return;
    }
  }
  if (p instanceof Error) {
    const e = p;
    if (WAVE.callId !== id) return;
    WAVE.peaks = null;
    waveformDraw();
    waveformStatus('Waveform unavailable: ' + e.message);
    return;
  }
  // another call was opened, or the size changed, while this one was fetched
  if (WAVE.callId !== id || WAVE.points !== points) return;
  WAVE.peaks = p;
  waveformStatus('');
  $('waveform-legend').hidden = p.channels !== 2;
  const cv = $('waveform');
  cv.setAttribute('aria-label', p.channels === 2
    ? 'Waveform: caller on top (blue), callee below (orange), ' + p.points + ' points over ' + fmtDur(p.duration_s)
    : 'Waveform of the mixed recording, ' + p.points + ' points over ' + fmtDur(p.duration_s));
  waveformDraw();
}

// Draw the peaks at the canvas' pixel size; the part before `played`
// seconds (default: the audio's position) darker.
function waveformDraw() {
  const cv = $('waveform');
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(cv.clientWidth * dpr));
  const h = Math.max(1, Math.round(cv.clientHeight * dpr));
  if (cv.width !== w) cv.width = w;
  if (cv.height !== h) cv.height = h;
  const g = cv.getContext('2d');
  if (!g) return;
  g.clearRect(0, 0, w, h);
  const p = WAVE.peaks;
  if (!p || !p.points || !p.peaks || !p.peaks.length) return;
  const a = $('audio');
  const dur = recDuration() || p.duration_s || 0;
  const playedX = dur ? Math.min(1, a.currentTime / dur) * w : 0;
  const mid = Math.round(h / 2);
  const step = w / p.points;
  const bw = Math.max(1, step - (step >= 3 ? 1 : 0));
  // Values are linear amplitude; the square root keeps quiet speech visible.
  const ht = (v, room) => (v > 0 ? Math.max(1, Math.sqrt(v / 255) * room) : 0);
  const halves = p.channels >= 2
    ? [{ v: p.peaks[0], c: WAVE.colors.caller, up: true }, { v: p.peaks[1], c: WAVE.colors.callee, up: false }]
    : [{ v: p.peaks[0], c: WAVE.colors.caller, up: true }, { v: p.peaks[0], c: WAVE.colors.caller, up: false }];
  for (const half of halves) {
    const room = half.up ? mid - 1 : h - mid - 1;
    for (let i = 0; i < p.points; i++) {
      const x = i * step;
      const y = ht(half.v[i] || 0, room);
      if (!y) continue;
      g.fillStyle = x + bw / 2 <= playedX ? half.c[0] : half.c[1];
      if (half.up) g.fillRect(x, mid - y, bw, y);
      else g.fillRect(x, mid, bw, y);
    }
  }
  g.fillStyle = WAVE.colors.mid;
  g.fillRect(0, mid, w, Math.max(1, Math.round(dpr / 2)));
}

// The played part moved: redraw (a few thousand rectangles, cheap).
function waveformProgress() {
  if (WAVE.peaks) waveformDraw();
}

// A new width asks for as many points again (debounced).
window.addEventListener('resize', () => {
  clearTimeout(WAVE.resizeTimer);
  WAVE.resizeTimer = setTimeout(() => {
    if (WAVE.callId !== null && state.call && state.call.id === WAVE.callId && !$('player-body').hidden) {
      waveformLoad(state.call);
    }
  }, 200);
});
