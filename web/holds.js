// earshot web UI: legal holds (GET/POST /api/holds, GET /api/holds/{name},
// POST /api/holds/{name}/release).  Admins and auditors (the compliance
// officer's role) only: app.js hides the link for others, and the API
// refuses them anyway.  Uses app.js's api(), el(), row(), fmtTime(),
// showError() and state (the current search, for "the search's filters").
'use strict';

(function () {
  let built = false;
  // The search filters a hold query knows (docs/CLI.md `hold add --query`).
  const QUERY_KEYS = ['party', 'from', 'to', 'tag', 'source', 'outcome', 'flag'];

  function field(label, id, input) {
    const p = el('p');
    const l = el('label', label);
    l.htmlFor = id;
    input.id = id;
    p.append(l, ' ', input);
    return p;
  }

  function build() {
    if (built) return;
    built = true;
    const body = document.getElementById('holds-body');
    const table = el('table', null, 'grid');
    table.id = 'holds-table';
    const cap = el('caption', 'Legal holds', 'sr-only');
    const head = document.createElement('thead');
    const tr = document.createElement('tr');
    for (const h of ['Name', 'State', 'Calls', 'Placed', 'By', 'Reason']) {
      const th = el('th', h);
      th.scope = 'col';
      tr.append(th);
    }
    head.append(tr);
    table.append(cap, head, document.createElement('tbody'));

    const form = document.createElement('form');
    form.id = 'hold-add';
    form.append(el('h3', 'Place a hold'));
    const name = document.createElement('input');
    name.required = true;
    name.pattern = '[a-z0-9._\\-]{1,64}';
    const reason = document.createElement('input');
    reason.required = true;
    reason.maxLength = 1000;
    const calls = document.createElement('input');
    calls.placeholder = '12, 15';
    const useSearch = document.createElement('input');
    useSearch.type = 'checkbox';
    const submit = el('button', 'Place hold');
    submit.type = 'submit';
    form.append(field('Name', 'hold-name', name), field('Reason', 'hold-reason', reason),
      field('Call ids', 'hold-calls', calls),
      field("or the current search's filters", 'hold-use-search', useSearch), submit);
    form.addEventListener('submit', onAdd);

    const detail = el('section');
    detail.id = 'hold-detail';
    detail.hidden = true;
    detail.setAttribute('aria-live', 'polite');
    body.append(table, detail, form);
  }

  // "party=+4930,from=2026-01-01T00:00Z" from the search, or an error.
  function searchQuery() {
    const q = state.query || new URLSearchParams();
    const parts = [];
    for (const [k, v] of q) {
      if (k === 'sort' || k === 'limit' || k === 'cursor' || k === 'total') continue; // paging and display, not filters
      if (!QUERY_KEYS.includes(k)) throw new Error('a hold cannot use the search filter ' + k);
      if (v.includes(',')) throw new Error('the filter ' + k + ' has a comma');
      parts.push(k + '=' + v);
    }
    if (!parts.length) throw new Error('the current search has no filter: search first, or give call ids');
    return parts.join(',');
  }

  async function onAdd(ev) {
    ev.preventDefault();
    showError(null);
    const body = {
      name: document.getElementById('hold-name').value.trim(),
      reason: document.getElementById('hold-reason').value.trim(),
    };
    try {
      if (document.getElementById('hold-use-search').checked) body.query = searchQuery();
      else body.calls = document.getElementById('hold-calls').value.split(',').map((s) => s.trim()).filter((s) => s);
      if (!body.query && !body.calls.length) throw new Error('give call ids or use the search');
      const h = await api('POST', '/api/holds', body);
      document.getElementById('hold-add').reset();
      await refresh();
      showHold(h);
    } catch (e) {
      showError(e);
    }
  }

  async function onRelease(ev, name) {
    ev.preventDefault();
    showError(null);
    const reason = document.getElementById('release-reason').value.trim();
    try {
      const h = await api('POST', '/api/holds/' + encodeURIComponent(name) + '/release', { reason });
      await refresh();
      showHold(h);
    } catch (e) {
      showError(e);
    }
  }

  // One hold with its calls, and the release form while it is active.
  function showHold(h) {
    const d = document.getElementById('hold-detail');
    const title = el('h3', 'Hold ' + h.name + (h.active ? '' : ' (released)'));
    title.tabIndex = -1;
    const info = el('p', h.reason + ' (placed ' + fmtTime(h.created) + ' by ' + h.created_by + ')');
    const list = el('ul');
    list.id = 'hold-calls-list';
    for (const c of h.call_list || []) {
      const li = el('li');
      const a = el('a', 'call ' + c.id);
      a.href = '#/call/' + c.id;
      li.append(a, ' ', c.recording || '(no recording)');
      list.append(li);
    }
    d.replaceChildren(title, info, list);
    if (h.active) {
      const f = document.createElement('form');
      f.id = 'hold-release';
      const reason = document.createElement('input');
      reason.required = true;
      reason.maxLength = 1000;
      const b = el('button', 'Release');
      b.type = 'submit';
      f.append(field('Release reason', 'release-reason', reason), b);
      f.addEventListener('submit', (ev) => onRelease(ev, h.name));
      d.append(f);
    } else {
      d.append(el('p', 'Released ' + fmtTime(h.released) + ' by ' + h.released_by + ': ' + h.release_reason));
    }
    d.hidden = false;
    title.focus();
  }

  async function openHold(name) {
    try {
      showHold(await api('GET', '/api/holds/' + encodeURIComponent(name)));
    } catch (e) {
      showError(e);
    }
  }

  async function refresh() {
    const r = await api('GET', '/api/holds');
    const tbody = document.getElementById('holds-table').tBodies[0];
    tbody.replaceChildren(...r.holds.map((h) => {
      const b = el('button', h.name, 'link');
      b.type = 'button';
      b.addEventListener('click', () => openHold(h.name));
      return row([b, h.active ? 'active' : 'released', [h.calls, 'num'], fmtTime(h.created),
        h.created_by, h.reason]);
    }));
  }

  window.earshotViews['#/holds'] = {
    view: 'holds-view',
    open() {
      build();
      document.getElementById('holds-title').focus();
      refresh().catch(showError);
    },
  };
})();
