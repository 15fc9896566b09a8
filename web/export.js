// earshot web UI: downloads of recordings for the roles that may export
// (admins, supervisors, auditors with the listen grant; never agents):
//  - on the call page, WAV and MP3 links (GET /api/calls/{id}/export);
//  - in the search list, a checkbox per recorded call and "Download ZIP"
//    (POST /api/export.zip: the chosen calls and a manifest of hashes).
// Hooks called by app.js (exportShow) and search.js (exportRows); uses
// app.js's $(), el(), perm(), state and showError().
'use strict';

const exportSel = new Set(); // call ids ticked in the search list

function exportAllowed() { return perm('export') !== 'none'; }

// The call page's links for call c.
function exportShow(c) {
  const box = $('export-audio');
  const can = exportAllowed() && !!c.recording;
  box.hidden = !can;
  if (!can) return;
  for (const fmt of ['wav', 'mp3']) {
    const a = $('export-' + fmt);
    a.href = '/api/calls/' + c.id + '/export?format=' + fmt;
    a.setAttribute('download', 'call-' + c.id + '.' + fmt);
  }
}

function exportBar() {
  let bar = $('export-bar');
  if (bar) return bar;
  bar = el('div', null, 'export-bar');
  bar.id = 'export-bar';
  const fmt = el('select');
  fmt.id = 'export-zip-format';
  for (const f of ['wav', 'mp3', 'opus']) { const o = el('option', f.toUpperCase()); o.value = f; fmt.append(o); }
  const lab = el('label', 'Format of the ZIP ');
  lab.append(fmt);
  const b = el('button', 'Download ZIP of the chosen calls');
  b.type = 'button';
  b.id = 'export-zip';
  b.addEventListener('click', exportZip);
  const st = el('span', '', 'status');
  st.id = 'export-zip-status';
  st.setAttribute('aria-live', 'polite');
  bar.append(lab, b, st);
  $('results').before(bar);
  return bar;
}

function exportCount() {
  const n = exportSel.size;
  $('export-zip').disabled = !n;
  $('export-zip').title = n ? '' : 'Tick the calls to put in the ZIP first';
  $('export-zip-status').textContent = n ? n + ' chosen' : '';
}

// A checkbox in the first cell of each recorded call's row of tbody.
function exportRows(tbody) {
  const bar = exportBar();
  bar.hidden = !exportAllowed();
  if (bar.hidden) return;
  for (const tr of tbody.rows) {
    if (tr.querySelector('input.export-pick') || !tr.dataset.id) continue;
    if ([...tr.querySelectorAll('.flag')].some((f) => f.textContent === 'No recording')) continue;
    const cb = el('input', null, 'export-pick');
    cb.type = 'checkbox';
    cb.checked = exportSel.has(tr.dataset.id);
    cb.setAttribute('aria-label', 'Choose call ' + tr.dataset.id + ' for the ZIP');
    cb.addEventListener('click', (ev) => ev.stopPropagation()); // not the row's link
    cb.addEventListener('change', () => {
      if (cb.checked) exportSel.add(tr.dataset.id); else exportSel.delete(tr.dataset.id);
      exportCount();
    });
    tr.cells[0].prepend(cb);
  }
  exportCount();
}

async function exportZip() {
  const ids = [...exportSel];
  const st = $('export-zip-status');
  st.textContent = 'Building the ZIP…';
  try {
    const r = await fetch('/api/export.zip', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': state.csrf || '' },
      body: JSON.stringify({ ids, format: $('export-zip-format').value }),
    });
    if (!r.ok) {
      let m = 'Error ' + r.status;
      try { m += ': ' + (await r.json()).message; } catch (e) { /* not JSON */ }
      throw new Error(m);
    }
    const url = URL.createObjectURL(await r.blob());
    const a = el('a');
    a.href = url;
    a.download = 'calls.zip';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    st.textContent = ids.length + ' call' + (ids.length === 1 ? '' : 's') + ' exported.';
  } catch (e) {
    st.textContent = 'The ZIP failed: ' + e.message;
  }
}
