// earshot web UI: redaction on the call page (POST /api/calls/{id}/redact).
// Drag across the waveform to select a span, choose the channel, give a
// reason, confirm; the page then reloads the call and plays the redacted
// version (the server serves it to everybody).  Shown to roles with the
// "redact" permission (admins, supervisors).  Uses api(), state, $(),
// openCall() and recDuration() from app.js and waveformClear() from
// waveform.js; app.js calls redactShow(call) when a call page opens.
'use strict';

const RED = { from: null, to: null, dragX: null, dragged: false };

function redactFmt(s) { return s.toFixed(2) + ' s'; }

function redactSpanShow() {
  const sel = $('redact-sel');
  const dur = recDuration();
  const ok = RED.from !== null && RED.to !== null && dur > 0;
  sel.hidden = !ok;
  $('redact-go').disabled = !ok;
  // a disabled control says why
  $('redact-go').title = ok ? '' : 'Select a span first: drag across the waveform';
  if (!ok) { $('redact-span').textContent = 'no span selected'; return; }
  sel.style.left = (RED.from / dur * 100) + '%';
  sel.style.width = ((RED.to - RED.from) / dur * 100) + '%';
  $('redact-span').textContent = redactFmt(RED.from) + ' – ' + redactFmt(RED.to);
}

function redactShow(c) {
  const can = !!(c && c.recording) && perm('redact') !== 'none';
  $('redact-form').hidden = !can;
  $('redact-confirm').hidden = true;
  $('redact-status').textContent = '';
  RED.from = RED.to = null;
  if (can && c.recording.channels === 1) $('redact-channel').value = 'both';
  $('redact-channel').disabled = !!(c && c.recording && c.recording.channels === 1);
  redactSpanShow();
}

// The time (s) under a pointer event on the timeline.
function redactTimeAt(ev) {
  const box = $('timeline').getBoundingClientRect();
  const dur = recDuration();
  if (!dur || !box.width) return null;
  return Math.min(dur, Math.max(0, (ev.clientX - box.left) / box.width * dur));
}

function redactPointerDown(ev) {
  if ($('redact-form').hidden || ev.button !== 0 || ev.target.closest('.marker')) return;
  RED.dragX = ev.clientX;
  RED.start = redactTimeAt(ev);
  RED.dragged = false;
}

function redactPointerMove(ev) {
  if (RED.dragX === null) return;
  if (Math.abs(ev.clientX - RED.dragX) < 4 && !RED.dragged) return;
  RED.dragged = true;
  const t = redactTimeAt(ev);
  if (t === null || RED.start === null) return;
  RED.from = Math.min(RED.start, t);
  RED.to = Math.max(RED.start, t);
  redactSpanShow();
}

function redactPointerUp() {
  RED.dragX = null;
}

// A drag is a selection, not a seek: the click that ends it stops here
// (registered before app.js's seek, in the capture phase).
function redactClick(ev) {
  if (RED.dragged) {
    RED.dragged = false;
    ev.stopImmediatePropagation();
  }
}

function redactAsk(ev) {
  ev.preventDefault();
  if (RED.from === null || !$('redact-reason').value.trim()) {
    $('redact-status').textContent = 'Select a span on the waveform and give a reason.';
    return;
  }
  $('redact-question').textContent = 'Redact ' + redactFmt(RED.from) + ' – ' + redactFmt(RED.to) +
    ' on ' + $('redact-channel').value + ' (' + $('redact-fill').value + ')? The original is kept ' +
    'only for admins and auditors, or shredded, as configured.';
  $('redact-confirm').hidden = false;
  $('redact-yes').focus();
}

async function redactConfirm() {
  const c = state.call;
  if (!c) return;
  $('redact-confirm').hidden = true;
  $('redact-status').textContent = 'Redacting…';
  const body = {
    from_ms: Math.floor(RED.from * 1000),
    to_ms: Math.ceil(RED.to * 1000),
    channel: $('redact-channel').value,
    fill: $('redact-fill').value,
    reason: $('redact-reason').value.trim(),
  };
  let r;
  try {
    r = await api('POST', '/api/calls/' + encodeURIComponent(c.id) + '/redact', body);
  } catch (e) {
    $('redact-status').textContent = 'Not redacted: ' + e.message;
    return;
  }
  waveformClear(); // the peaks are the new recording's
  await openCall(c.id);
  $('redact-status').textContent = 'Redaction ' + r.n + ' done (' + redactFmt(body.from_ms / 1000) +
    ' – ' + redactFmt(body.to_ms / 1000) + ', ' + r.channel + '): the player plays the redacted ' +
    'version; the original is ' + r.original_state + '.';
}

document.addEventListener('DOMContentLoaded', () => {
  const tl = $('timeline');
  tl.addEventListener('pointerdown', redactPointerDown);
  window.addEventListener('pointermove', redactPointerMove);
  window.addEventListener('pointerup', redactPointerUp);
  tl.addEventListener('click', redactClick, true);
  $('redact-form').addEventListener('submit', redactAsk);
  $('redact-yes').addEventListener('click', redactConfirm);
  $('redact-no').addEventListener('click', () => { $('redact-confirm').hidden = true; });
});
