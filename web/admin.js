// earshot web UI: the admin area (#/admin, #/admin/users, #/admin/rules,
// #/admin/audit).  Admins see Users, Rules and Audit; auditors Rules and
// Audit (the server enforces the same: /api/users* need the admin role,
// /api/rules and /api/audit audit_read).  Uses app.js's api(), state, $,
// el(), row(), showError() and fmtTime().  No innerHTML: every value is
// set as text.
'use strict';

(function () {
  const labelled = uiLabelled, input = uiInput, button = uiButton, table = uiTable, status = uiStatus;
  const say = (id, text, cls) => uiSay($(id), text, cls);
  const TABS = [
    { id: 'users', label: 'Users', roles: ['admin'] },
    { id: 'rules', label: 'Rules', roles: ['admin', 'auditor'] },
    { id: 'audit', label: 'Audit log', roles: ['admin', 'auditor'] },
  ];
  // Tabs of other files (web/qaforms.js, web/teams.js) register here:
  // {id, label, roles, build(panel), load()}; they follow these, in script order.
  window.earshotAdminTabs = window.earshotAdminTabs || [];
  const ROLES = ['admin', 'supervisor', 'agent', 'auditor'];
  const AUDIT_STEP = 100;
  const AUDIT_MAX = 1000;
  let root = null;   // #admin-body
  let built = false;
  let tab = null;    // the tab shown
  let users = [];    // the last list
  let auditLimit = AUDIT_STEP;

  // ---- helpers ----------------------------------------------------------------------------

  function roleSelect(name, value) {
    const s = document.createElement('select');
    s.name = name;
    for (const r of ROLES) {
      const o = el('option', r);
      o.value = r;
      if (r === value) o.selected = o.defaultSelected = true;
      s.append(o);
    }
    return s;
  }

  function yesNo(b) { return b ? 'yes' : 'no'; }

  function canSee(t) { return state.user && t.roles.includes(state.user.role); }

  // ---- the frame: tabs and panels -----------------------------------------------------------

  function build() {
    if (built) return;
    built = true;
    for (const t of window.earshotAdminTabs) if (!TABS.includes(t)) TABS.push(t);
    root = $('admin-body');
    const nav = el('div', null, 'admin-tabs');
    nav.setAttribute('role', 'tablist');
    nav.setAttribute('aria-label', 'Administration');
    for (const t of TABS) {
      const b = el('button', t.label, 'admin-tab');
      b.type = 'button';
      b.id = 'admin-tab-' + t.id;
      b.setAttribute('role', 'tab');
      b.setAttribute('aria-controls', 'admin-panel-' + t.id);
      b.addEventListener('click', () => { location.hash = '#/admin/' + t.id; });
      b.addEventListener('keydown', onTabKey);
      nav.append(b);
    }
    root.append(nav);
    for (const t of TABS) {
      const p = el('section', null, 'admin-panel');
      p.id = 'admin-panel-' + t.id;
      p.setAttribute('role', 'tabpanel');
      p.setAttribute('aria-labelledby', 'admin-tab-' + t.id);
      p.hidden = true;
      root.append(p);
    }
    buildUsers($('admin-panel-users'));
    buildRules($('admin-panel-rules'));
    buildAudit($('admin-panel-audit'));
    for (const t of TABS) if (t.build) t.build($('admin-panel-' + t.id));
  }

  // Left/right arrows move between the visible tabs (WAI-ARIA tabs pattern).
  function onTabKey(ev) {
    if (ev.key !== 'ArrowRight' && ev.key !== 'ArrowLeft') return;
    const vis = TABS.filter(canSee);
    const i = vis.findIndex((t) => 'admin-tab-' + t.id === ev.target.id);
    const next = vis[(i + (ev.key === 'ArrowRight' ? 1 : vis.length - 1)) % vis.length];
    ev.preventDefault();
    location.hash = '#/admin/' + next.id;
  }

  function showTab(id, focus) {
    tab = id;
    for (const t of TABS) {
      const b = $('admin-tab-' + t.id);
      const vis = canSee(t);
      b.hidden = !vis;
      b.setAttribute('aria-selected', String(t.id === id));
      b.tabIndex = t.id === id ? 0 : -1;
      $('admin-panel-' + t.id).hidden = t.id !== id;
    }
    if (focus) $('admin-tab-' + id).focus();
    if (id === 'users') loadUsers();
    else if (id === 'rules') { loadRules(); loadAlerts(); }
    else if (id === 'audit') loadAudit();
    else { const t = TABS.find((x) => x.id === id); if (t && t.load) t.load(); }
  }

  // ---- users ------------------------------------------------------------------------------

  function buildUsers(p) {
    p.append(el('h3', 'Users'), status('users-status'));
    p.append(table('users-table', 'Users', [['Name'], ['Role'], ['Numbers'], ['Can listen'],
      ['Status'], ['Actions']]));

    // add a user
    const f = document.createElement('form');
    f.id = 'user-add';
    f.className = 'admin-form';
    f.append(el('h3', 'Add a user'));
    f.append(labelled('Name', input('text', 'name', { required: '', maxlength: '64',
      autocomplete: 'off', pattern: '[A-Za-z0-9][A-Za-z0-9._@\\-]*' })));
    f.append(labelled('Password', input('password', 'password', { required: '', minlength: '8',
      maxlength: '1024', autocomplete: 'new-password' })));
    f.append(labelled('Role', roleSelect('role', 'agent')));
    f.append(labelled('Numbers', input('text', 'numbers', { placeholder: '1001, +1 555 123 4567' })));
    const cl = labelled('Can listen (auditors)', input('checkbox', 'can_listen'));
    cl.className = 'check';
    f.append(cl);
    const sub = el('button', 'Add user');
    sub.type = 'submit';
    f.append(sub);
    f.addEventListener('submit', onAddUser);
    p.append(f);

    // the user being edited
    const ed = document.createElement('div');
    ed.id = 'user-edit';
    ed.className = 'admin-form';
    ed.hidden = true;
    p.append(ed);
  }

  async function loadUsers() {
    say('users-status', 'Loading…');
    try {
      const r = await api('GET', '/api/users');
      users = r.users || [];
      renderUsers();
      say('users-status', users.length + ' user' + (users.length === 1 ? '' : 's'));
    } catch (e) { say('users-status', ''); showError(e); }
  }

  function renderUsers() {
    const tb = $('users-table').tBodies[0];
    tb.replaceChildren();
    for (const u of users) {
      const edit = button('Edit', () => openEdit(u.name));
      edit.setAttribute('aria-label', 'Edit ' + u.name);
      const tr = row([u.name, u.role, (u.numbers || []).join(', '), yesNo(u.can_listen),
        [u.disabled ? 'disabled' : 'enabled', u.disabled ? 'user-disabled' : 'user-enabled'], edit]);
      tr.dataset.user = u.name;
      tb.append(tr);
    }
  }

  async function onAddUser(ev) {
    ev.preventDefault();
    showError(null);
    const f = ev.target;
    const body = { name: f.name.value.trim(), password: f.password.value, role: f.role.value,
      numbers: f.numbers.value, can_listen: f.can_listen.checked };
    try {
      const u = await api('POST', '/api/users', body);
      f.reset();
      say('users-status', 'User ' + u.name + ' added (' + u.role + ')', 'ok');
      await loadUsers();
      say('users-status', 'User ' + u.name + ' added (' + u.role + ')', 'ok');
      f.name.focus();
    } catch (e) { showError(e); }
  }

  async function openEdit(name) {
    showError(null);
    let u;
    try { u = await api('GET', '/api/users/' + encodeURIComponent(name)); } catch (e) { showError(e); return; }
    const ed = $('user-edit');
    ed.replaceChildren();
    const h = el('h3', 'Edit ' + u.name);
    h.id = 'user-edit-title';
    h.tabIndex = -1;
    ed.append(h);
    ed.append(el('p', 'Last login: ' + (u.last_login ? fmtTime(u.last_login) : 'never') +
      ' · created ' + fmtTime(u.created) + ' · ' + (u.disabled ? 'disabled' : 'enabled'), 'status'));

    const f = document.createElement('form');
    f.id = 'user-edit-form';
    f.append(labelled('Role', roleSelect('role', u.role)));
    const nums = input('text', 'numbers');
    nums.value = (u.numbers || []).join(', ');
    f.append(labelled('Numbers', nums));
    const cl = input('checkbox', 'can_listen');
    cl.checked = u.can_listen;
    const cll = labelled('Can listen (auditors)', cl);
    cll.className = 'check';
    f.append(cll);
    const save = el('button', 'Save changes');
    save.type = 'submit';
    f.append(save);
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const body = {};
      if (f.role.value !== u.role) body.role = f.role.value;
      if (f.numbers.value.split(',').map((s) => s.trim()).filter(Boolean).join(',') !==
        (u.numbers || []).join(',')) body.numbers = f.numbers.value;
      if (f.can_listen.checked !== u.can_listen) body.can_listen = f.can_listen.checked;
      if (!Object.keys(body).length) { say('users-status', 'Nothing changed'); return; }
      patch(u.name, body, 'saved: ' + Object.keys(body).join(', '));
    });
    ed.append(f);

    const self = state.user && state.user.user === u.name;
    const dis = button(u.disabled ? 'Enable ' + u.name : 'Disable ' + u.name,
      () => patch(u.name, { disabled: !u.disabled }, u.disabled ? 'enabled' : 'disabled'),
      u.disabled ? '' : 'danger');
    dis.id = 'user-toggle';
    if (self && !u.disabled) {
      dis.disabled = true;
      dis.title = 'You cannot disable yourself';
    }
    ed.append(dis);

    const pf = document.createElement('form');
    pf.id = 'user-password-form';
    pf.append(labelled('New password', input('password', 'password', { required: '', minlength: '8',
      maxlength: '1024', autocomplete: 'new-password' })));
    const pb = el('button', 'Reset password');
    pb.type = 'submit';
    pf.append(pb);
    pf.append(el('p', 'A reset ends the user\'s sessions and revokes their API tokens.', 'status'));
    pf.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      showError(null);
      try {
        await api('POST', '/api/users/' + encodeURIComponent(u.name) + '/password',
          { password: pf.password.value });
        pf.reset();
        say('users-status', 'Password of ' + u.name + ' reset', 'ok');
      } catch (e) { showError(e); }
    });
    ed.append(pf);

    // the user's API tokens (web/account.js draws the table)
    const T = window.earshotTokens;
    const ts = el('p', '', 'status');
    ts.id = 'user-tokens-status';
    ts.setAttribute('aria-live', 'polite');
    ed.append(el('h4', 'API tokens of ' + u.name), ts, T.tokenTable('user-tokens-table',
      'API tokens of ' + u.name));
    const loadTokens = async () => {
      try {
        const r = await api('GET', '/api/users/' + encodeURIComponent(u.name) + '/tokens');
        const toks = r.tokens || [];
        T.tokenRows($('user-tokens-table').tBodies[0], toks, async (t) => {
          showError(null);
          try {
            await api('DELETE', '/api/tokens/' + t.id);
            await loadTokens();
            say('user-tokens-status', 'Token ' + t.id + ' of ' + u.name + ' revoked', 'ok');
          } catch (e) { showError(e); }
        });
        say('user-tokens-status', toks.length ? toks.filter((t) => t.state === 'active').length +
          ' active of ' + toks.length : 'No tokens');
      } catch (e) { showError(e); }
    };
    await loadTokens();
    ed.append(button('Close', () => { ed.hidden = true; focusRow(u.name); }));
    ed.hidden = false;
    h.focus();
  }

  function focusRow(name) {
    const b = document.querySelector('#users-table tr[data-user="' + CSS.escape(name) + '"] button');
    if (b) b.focus();
  }

  async function patch(name, body, what) {
    showError(null);
    try {
      const u = await api('PATCH', '/api/users/' + encodeURIComponent(name), body);
      await loadUsers();
      say('users-status', 'User ' + u.name + ' ' + what, 'ok');
      await openEdit(u.name);
    } catch (e) { showError(e); }
  }

  // ---- rules ------------------------------------------------------------------------------

  function buildRules(p) {
    p.append(el('h3', 'Recording rules'), status('rules-status'));
    const d = document.createElement('div');
    d.id = 'rules-body';
    p.append(d);
    // [alert NAME] of the recorder, read-only (GET /api/alerts, docs/ALERTS.md)
    p.append(el('h3', 'Alerts'), status('alerts-status'));
    p.append(table('alerts-table', 'Configured alerts', [['Alert'], ['Condition'], ['Threshold', 'num'],
      ['Only'], ['Actions'], ['Severity'], ['At most']]));
  }

  async function loadAlerts() {
    let j;
    try { j = await api('GET', '/api/alerts?limit=1'); } catch (e) { say('alerts-status', ''); showError(e); return; }
    const c = j.configured || [];
    say('alerts-status', j.configured === null ? 'No recorder has run with this data folder yet.'
      : c.length ? c.length + ' alert' + (c.length === 1 ? '' : 's') + ' configured' : 'No alerts configured.');
    $('alerts-table').tBodies[0].replaceChildren(...c.map((a) => {
      const only = [];
      if (a.rule) only.push('rule ' + a.rule);
      if (a.peers.length) only.push('peers ' + a.peers.join(', '));
      const tr = row([a.name, a.condition + ' (' + a.scope + ')', [a.threshold === null ? '—' : a.threshold, 'num'],
        only.length ? only.join('; ') : 'any', a.actions.join(', '), a.severity,
        a.max_per_interval + ' per ' + a.interval_s + ' s']);
      tr.dataset.alert = a.name;
      return tr;
    }));
  }

  function list(v) { return v && v.length ? v.join(', ') : 'any'; }

  function conditions(r) {
    const c = [];
    if (r.caller.length) c.push('caller ' + r.caller.join(', '));
    if (r.callee.length) c.push('callee ' + r.callee.join(', '));
    if (r.number.length) c.push('either party ' + r.number.join(', '));
    if (r.domain.length) c.push('domain ' + r.domain.join(', '));
    if (r.direction.length) c.push(r.direction.join(' or '));
    if (r.time.length) c.push(r.time.map((w) => w.from + '–' + w.to).join(', ') +
      ' (' + (r.time[0].zone || 'server time') + ')');
    if (r.days.length) c.push(r.days.join(', '));
    return c.length ? c.join('; ') : 'every call';
  }

  async function loadRules() {
    const d = $('rules-body');
    say('rules-status', 'Loading…');
    let j;
    try { j = await api('GET', '/api/rules'); } catch (e) { say('rules-status', ''); showError(e); return; }
    d.replaceChildren();
    if (!j.configured) {
      say('rules-status', 'No configuration was given to earshot serve (-c FILE): this view cannot ' +
        'show the recorder\'s rules. Without rules every call is recorded.');
      return;
    }
    say('rules-status', j.rules.length + ' rule' + (j.rules.length === 1 ? '' : 's') +
      '; the first that matches decides');
    const dl = el('dl', null, 'meta');
    dl.id = 'rules-summary';
    for (const [k, v] of [['When no rule matches', j.default],
      ['Time zone', j.timezone || 'the server\'s'],
      ['Never recorded (either party)', list(j.do_not_record) === 'any' ? 'none' : j.do_not_record.join(', ')],
      ['Local networks', j.networks.local.length ? j.networks.local.join(', ') : 'none'],
      ['Local numbers', j.networks.local_numbers.length ? j.networks.local_numbers.join(', ') : 'none']]) {
      dl.append(el('dt', k), el('dd', v));
    }
    d.append(dl);
    const t = table('rules-table', 'Recording rules in order', [['#', 'num'], ['Rule'], ['Action'],
      ['Conditions'], ['Sample', 'num']]);
    j.rules.forEach((r, i) => {
      const tr = row([[i + 1, 'num'], r.name, [r.action, 'action-' + r.action], conditions(r),
        [r.sample_percent + ' %', 'num']]);
      tr.dataset.rule = r.name;
      t.tBodies[0].append(tr);
    });
    d.append(t);
  }

  // ---- audit ------------------------------------------------------------------------------

  function buildAudit(p) {
    p.append(el('h3', 'Audit log'));
    const f = document.createElement('form');
    f.id = 'audit-form';
    f.className = 'filters';
    f.append(labelled('User', input('text', 'user', { maxlength: '72', autocomplete: 'off' })));
    f.append(labelled('Action', input('text', 'action', { maxlength: '64',
      placeholder: 'login, user. (prefix)' })));
    f.append(labelled('Since (UTC)', input('text', 'since', { placeholder: '2026-11-24T08:00Z' })));
    f.append(labelled('Newest', input('number', 'limit', { min: '1', max: String(AUDIT_MAX),
      value: String(AUDIT_STEP) })));
    const s = el('button', 'Show');
    s.type = 'submit';
    f.append(s);
    f.addEventListener('submit', (ev) => { ev.preventDefault(); auditLimit = +f.limit.value || AUDIT_STEP; loadAudit(); });
    const v = button('Verify chain', onVerifyChain);
    v.id = 'audit-verify';
    f.append(v);
    p.append(f, status('audit-verify-result'), status('audit-status'));
    p.append(table('audit-table', 'Audit entries, oldest first', [['Seq', 'num'], ['Time (' + TZ + ')'],
      ['User'], ['Action'], ['Object'], ['Remote'], ['Outcome'], ['Detail']]));
    const more = button('Show older entries', () => {
      auditLimit = Math.min(AUDIT_MAX, auditLimit + AUDIT_STEP);
      $('audit-form').limit.value = String(auditLimit);
      loadAudit();
    });
    more.id = 'audit-more';
    more.hidden = true;
    p.append(more);
  }

  async function loadAudit() {
    const f = $('audit-form');
    const q = new URLSearchParams();
    for (const k of ['user', 'action', 'since']) if (f[k].value.trim()) q.set(k, f[k].value.trim());
    q.set('limit', String(auditLimit));
    say('audit-status', 'Loading…');
    try {
      const r = await api('GET', '/api/audit?' + q.toString());
      const tb = $('audit-table').tBodies[0];
      tb.replaceChildren();
      for (const a of r.entries) {
        tb.append(row([[a.seq, 'num'], fmtTime(a.time), a.user, a.action, a.object, a.remote,
          [a.outcome, 'outcome-' + a.outcome], a.detail]));
      }
      // The API gives the newest `limit` matches: more exist when it is full.
      $('audit-more').hidden = r.entries.length < auditLimit || auditLimit >= AUDIT_MAX;
      say('audit-status', r.entries.length + ' entr' + (r.entries.length === 1 ? 'y' : 'ies') +
        ' (the newest ' + auditLimit + ' at most, oldest first)');
    } catch (e) { say('audit-status', ''); showError(e); }
  }

  async function onVerifyChain() {
    showError(null);
    say('audit-verify-result', 'Verifying…');
    try {
      const v = await api('GET', '/api/audit/verify');
      if (v.ok) {
        say('audit-verify-result', 'Chain intact: ' + v.entries + ' entries, seq ' + v.first_seq +
          '–' + v.last_seq + ', newest hash ' + v.last_hash, 'ok');
      } else {
        say('audit-verify-result', 'Chain BROKEN at entry ' + v.bad_seq + ': ' + v.reason, 'bad');
      }
    } catch (e) { say('audit-verify-result', ''); showError(e); }
  }

  // ---- registration -----------------------------------------------------------------------

  window.earshotViews['#/admin'] = {
    view: 'admin-view',
    open(hash) {
      build();
      const want = hash.split('/')[2];
      const vis = TABS.filter(canSee);
      if (!vis.length) { location.hash = '#/calls'; return; }
      const t = vis.find((x) => x.id === want) || vis[0];
      const fromTab = tab !== null && document.activeElement &&
        document.activeElement.classList.contains('admin-tab');
      showTab(t.id, fromTab);
      if (!fromTab) $('admin-title').focus();
    },
    close() {
      tab = null;
      if (built) $('user-edit').hidden = true;
    },
  };
})();
