// earshot web UI: the Teams tab of the admin area (#/admin/teams), for admins
// (every /api/teams and /api/scopes request needs the admin role; the
// server refuses and audits others).  Teams, their agents and supervisors,
// and each supervisor's scope: "all" calls, only their "teams"' agents'
// calls, or the server's default ([api] supervisor_scope).
// Registers with admin.js (window.earshotAdminTabs); uses app.js's $(), el(),
// row(), api(), showError() and timeCell().
'use strict';

(function () {
  const button = uiButton, table = uiTable, status = uiStatus;
  const say = (id, text, cls) => uiSay($(id), text, cls);
  let data = { teams: [], members: [], default_scope: 'all' };
  let users = [];
  let open = null; // the team whose members are shown

  function select(name, options, value) {
    const s = document.createElement('select');
    s.name = name;
    for (const [v, t] of options) {
      const o = el('option', t);
      o.value = v;
      s.append(o);
    }
    if (value !== undefined) s.value = value;
    return s;
  }

  const enc = encodeURIComponent;

  // ---- teams ---------------------------------------------------------------------------------

  function renderTeams() {
    const tb = $('teams-table').tBodies[0];
    tb.replaceChildren();
    for (const t of data.teams) {
      const tr = row([t.name, [t.agents, 'num'], [t.supervisors, 'num'], timeCell(t.created),
        (() => {
          const s = el('span', null, 'inline-form');
          s.append(button('Members', () => showMembers(t.name), null, 'Members of ' + t.name),
            button('Delete', () => delTeam(t.name), 'danger', 'Delete team ' + t.name));
          return s;
        })()], $('teams-table'));
      tr.dataset.team = t.name;
      tb.append(tr);
    }
    if (!data.teams.length) tb.append(row(['No teams yet.']));
  }

  async function onCreate(ev) {
    ev.preventDefault();
    const f = ev.target;
    const name = f.name.value.trim();
    showError(null);
    try {
      await api('POST', '/api/teams', { name });
      f.reset();
      await load();
      say('teams-status', 'Team "' + name + '" created.', 'ok');
      showMembers(name);
    } catch (e) { showError(e); }
  }

  async function delTeam(name) {
    if (!window.confirm('Delete team "' + name + '" and its memberships?')) return;
    showError(null);
    try {
      await api('DELETE', '/api/teams/' + enc(name));
      if (open === name) open = null;
      await load();
      say('teams-status', 'Team "' + name + '" deleted.', 'ok');
    } catch (e) { showError(e); }
  }

  // ---- members -------------------------------------------------------------------------------

  function renderMembers() {
    const box = $('team-members');
    box.hidden = !open;
    if (!open) return;
    $('team-members-title').textContent = 'Members of ' + open;
    const tb = $('team-members-table').tBodies[0];
    tb.replaceChildren();
    const ms = data.members.filter((m) => m.team === open);
    for (const m of ms) {
      const tr = row([m.user, m.kind, (m.numbers || []).join(', '),
        button('Remove', () => removeMember(m), 'danger', 'Remove ' + m.user + ' (' + m.kind + ') from ' + open)],
      $('team-members-table'));
      tr.dataset.member = m.user + ':' + m.kind;
      tb.append(tr);
    }
    if (!ms.length) tb.append(row(['No members yet.']));
    const sel = $('team-member-user');
    sel.replaceChildren();
    for (const u of users.filter((x) => x.role === 'agent' || x.role === 'supervisor')) {
      const o = el('option', u.name + ' (' + u.role + ')');
      o.value = u.name;
      o.dataset.role = u.role;
      sel.append(o);
    }
    const pickKind = () => {
      const o = sel.selectedOptions[0];
      if (o) $('team-member-kind').value = o.dataset.role === 'supervisor' ? 'supervisor' : 'agent';
    };
    sel.onchange = pickKind;
    pickKind();
  }

  function showMembers(name) {
    open = name;
    renderMembers();
    $('team-members-title').focus();
  }

  async function onAddMember(ev) {
    ev.preventDefault();
    const team = open;
    const user = $('team-member-user').value;
    const kind = $('team-member-kind').value;
    if (!team || !user) return;
    showError(null);
    try {
      await api('POST', '/api/teams/' + enc(team) + '/members', { user, kind });
      await load();
      say('team-members-status', user + ' added to ' + team + ' as ' + kind + '.', 'ok');
    } catch (e) { showError(e); }
  }

  async function removeMember(m) {
    showError(null);
    try {
      await api('DELETE', '/api/teams/' + enc(m.team) + '/members/' + enc(m.user) + '?kind=' + enc(m.kind));
      await load();
      say('team-members-status', m.user + ' removed from ' + m.team + '.', 'ok');
    } catch (e) { showError(e); }
  }

  // ---- supervisors' scope -------------------------------------------------------------------------

  async function renderScopes() {
    const tb = $('scopes-table').tBodies[0];
    tb.replaceChildren();
    const sups = users.filter((u) => u.role === 'supervisor');
    for (const u of sups) {
      let sc = { scope: 'default', effective: data.default_scope };
      try { sc = await api('GET', '/api/scopes/' + enc(u.name)); } catch (e) { /* shown as default */ }
      const s = select('scope', [['default', 'server default (' + data.default_scope + ')'], ['all', 'all calls'],
        ['teams', 'their teams only']], sc.scope);
      s.setAttribute('aria-label', 'Scope of ' + u.name);
      const eff = el('span', sc.effective === 'teams' ? 'their teams only' : 'all calls');
      s.addEventListener('change', async () => {
        showError(null);
        try {
          const r = await api('PUT', '/api/scopes/' + enc(u.name), { scope: s.value });
          eff.textContent = r.effective === 'teams' ? 'their teams only' : 'all calls';
          say('scopes-status', 'Scope of ' + u.name + ': ' + r.scope + ' (acts on ' + eff.textContent + ').', 'ok');
        } catch (e) { showError(e); }
      });
      const tr = row([u.name, s, eff], $('scopes-table'));
      tr.dataset.user = u.name;
      tb.append(tr);
    }
    if (!sups.length) tb.append(row(['No supervisors.']));
  }

  async function load() {
    say('teams-status', 'Loading…');
    try {
      const [t, u] = await Promise.all([api('GET', '/api/teams'), api('GET', '/api/users')]);
      data = t;
      users = u.users || [];
      if (open && !data.teams.some((x) => x.name === open)) open = null;
      renderTeams();
      renderMembers();
      say('teams-status', data.teams.length + ' team' + (data.teams.length === 1 ? '' : 's') +
        '; supervisors without a scope of their own act on ' + (data.default_scope === 'teams' ? 'their teams only' : 'all calls') + '.');
      await renderScopes();
    } catch (e) { say('teams-status', ''); showError(e); }
  }

  function build(p) {
    const add = el('form', null, 'admin-form');
    add.id = 'team-add';
    const name = document.createElement('input');
    name.name = 'name';
    name.required = true;
    name.maxLength = 64;
    name.pattern = '[A-Za-z0-9][A-Za-z0-9._@\\-]*';
    name.autocomplete = 'off';
    const nl = el('label', 'Team name');
    nl.append(name);
    const go = el('button', 'Create team');
    go.type = 'submit';
    add.append(el('h3', 'Create a team'), nl, go);
    add.addEventListener('submit', onCreate);

    const mem = el('div', null, 'admin-form');
    mem.id = 'team-members';
    mem.hidden = true;
    const mt = el('h3', 'Members');
    mt.id = 'team-members-title';
    mt.tabIndex = -1;
    const mf = el('form');
    mf.id = 'team-member-add';
    const us = select('user', []);
    us.id = 'team-member-user';
    const ks = select('kind', [['agent', 'agent'], ['supervisor', 'supervisor']]);
    ks.id = 'team-member-kind';
    const ul = el('label', 'User');
    ul.append(us);
    const kl = el('label', 'As');
    kl.append(ks);
    const ab = el('button', 'Add member');
    ab.type = 'submit';
    mf.append(ul, kl, ab);
    mf.addEventListener('submit', onAddMember);
    mem.append(mt, table('team-members-table', 'Members of the team', [['User'], ['Kind'], ['Numbers'], ['Actions']]),
      mf, status('team-members-status'));

    p.append(el('h3', 'Teams'), status('teams-status'),
      table('teams-table', 'Teams', [['Name'], ['Agents', 'num'], ['Supervisors', 'num'], ['Created (' + TZ + ')'], ['Actions']]),
      add, mem, el('h3', "Supervisors' scope"), status('scopes-status'),
      table('scopes-table', "Supervisors' scope", [['Supervisor'], ['Scope'], ['Acts on']]));
  }

  window.earshotAdminTabs = window.earshotAdminTabs || [];
  window.earshotAdminTabs.push({ id: 'teams', label: 'Teams', roles: ['admin'], build, load });
})();
