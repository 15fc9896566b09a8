// earshot web UI: the speaker timeline of a call's talk metrics
// (docs/ANALYTICS.md).  GET /api/calls/{id} carries `talk` with each party's
// speech segments as a flat [start, end, ...] list in ms from the start of
// the recording; this draws them as two rows of bars in an SVG under the
// player (caller on top, callee below, overlaps marked), with a one-line
// summary.  Clicking a bar seeks there.  Uses $(), el() and seek() from
// app.js (classic scripts share the global scope); app.js calls
// talkTimelineShow(call).
'use strict';

const TALK_SVG = 'http://www.w3.org/2000/svg';

function talkSvg(tag, attrs) {
  const n = document.createElementNS(TALK_SVG, tag);
  for (const k in attrs) n.setAttribute(k, String(attrs[k]));
  return n;
}

function talkSecs(ms) {
  return (ms / 1000).toFixed(1) + ' s';
}

// The figure under the player, created once.
function talkBox() {
  let box = $('talk-timeline');
  if (box) return box;
  box = document.createElement('figure');
  box.id = 'talk-timeline';
  box.className = 'talk-timeline';
  const anchor = $('player-body') || $('call-meta');
  anchor.after(box);
  return box;
}

function talkTimelineShow(c) {
  const box = talkBox();
  box.replaceChildren();
  const t = c && c.talk;
  if (!t || !t.caller || !t.duration_ms) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const W = 1000, dur = t.duration_ms;
  const svg = talkSvg('svg', { viewBox: '0 0 ' + W + ' 40', preserveAspectRatio: 'none',
    width: '100%', height: '40', role: 'img' });
  svg.setAttribute('aria-label', 'Speaker timeline: caller ' + talkSecs(t.caller.talk_ms) +
    ', callee ' + talkSecs(t.callee.talk_ms) + ' of speech');
  svg.append(talkSvg('rect', { x: 0, y: 0, width: W, height: 40, fill: '#f4f5f7' }));
  const rows = [['caller', 3, '#2f6fd6'], ['callee', 23, '#d9731a']];
  for (const [party, y, color] of rows) {
    const s = t[party].segments || [];
    for (let i = 0; i + 1 < s.length; i += 2) {
      const x = W * s[i] / dur, w = Math.max(1, W * (s[i + 1] - s[i]) / dur);
      const r = talkSvg('rect', { x: x, y: y, width: w, height: 14, fill: color });
      const title = talkSvg('title', {});
      title.textContent = party + ' speaks ' + talkSecs(s[i]) + ' - ' + talkSecs(s[i + 1]);
      r.append(title);
      r.style.cursor = 'pointer';
      r.addEventListener('click', () => seek(s[i] / 1000, false));
      svg.append(r);
    }
  }
  const cap = document.createElement('figcaption');
  const ratio = t.talk_ratio === null ? '-' : Math.round(100 * t.talk_ratio) + ' %';
  cap.textContent = 'Talk: caller ' + talkSecs(t.caller.talk_ms) + ' (' + ratio + '), callee ' +
    talkSecs(t.callee.talk_ms) + '; overtalk ' + talkSecs(t.overtalk_ms) + ' in ' +
    t.overtalk_count + '; interruptions ' + t.caller.interruptions + ' / ' +
    t.callee.interruptions + '; longest dead air ' + talkSecs(t.dead_air_max_ms) +
    (t.first_words_ms >= 0 ? '; first words at ' + talkSecs(t.first_words_ms) : '');
  box.append(svg, cap);
}
