// earshot web UI: one's own account (#/account), for every role: the
// two-factor sign-in (TOTP: set up with the otpauth:// URI shown as text and
// the secret, confirmed with a code, recovery codes shown once; removal with
// password and code), the API tokens (list, make one, revoke) and a password
// change, which signs out every other session and revokes every token (the
// server does that).  A user whose role needs a second factor and has none
// ([api] required_mfa) sees only the two-factor part until it is on.
// Also tokenTable(), which admin.js uses for another user's tokens.  Uses
// app.js's api(), state, $, el(), row(), showError() and fmtTime().  No
// innerHTML: every value is set as text.
'use strict';

(function () {
  const labelled = uiLabelled, input = uiInput;
  const say = (id, text, cls) => uiSay($(id), text, cls);
  let built = false;

  // A table of tokens (GET /api/tokens or /api/users/{name}/tokens) into
  // tbody; each live one gets a Revoke button that calls onRevoke(token).
  function tokenRows(tbody, tokens, onRevoke) {
    tbody.replaceChildren();
    for (const t of tokens) {
      let act = '';
      if (t.state === 'active') {
        act = el('button', 'Revoke', 'danger');
        act.type = 'button';
        act.setAttribute('aria-label', 'Revoke token ' + t.id + (t.label ? ' (' + t.label + ')' : ''));
        act.addEventListener('click', () => onRevoke(t));
      }
      // "revoked by alice", "revoked: password reset", "expired", "active"
      const w = t.revoked_why;
      const why = t.state !== 'revoked' || !w ? t.state : /^revoked/.test(w) ? w : 'revoked: ' + w;
      const tr = row([String(t.id), t.label || '–', [why, 'token-' + t.state],
        fmtTime(t.created), t.last_used ? fmtTime(t.last_used) : 'never',
        t.expires ? fmtTime(t.expires) : 'never', act]);
      tr.dataset.token = String(t.id);
      tbody.append(tr);
    }
  }

  function tokenTable(id, caption) {
    const t = el('table', null, 'grid');
    t.id = id;
    t.append(el('caption', caption, 'sr-only'));
    const head = document.createElement('thead');
    const tr = document.createElement('tr');
    for (const h of ['Id', 'Label', 'State', 'Created', 'Last used', 'Expires', 'Actions']) {
      const th = el('th', h);
      th.scope = 'col';
      tr.append(th);
    }
    head.append(tr);
    t.append(head, document.createElement('tbody'));
    return t;
  }

  window.earshotTokens = { tokenRows, tokenTable };

  // ---- the view ------------------------------------------------------------------------

  // ---- two-factor sign-in (TOTP) -------------------------------------------------------

  function buildTotp(root) {
    const sec = document.createElement('section');
    sec.id = 'totp-section';
    sec.setAttribute('aria-labelledby', 'totp-title');
    const h = el('h3', 'Two-factor sign-in');
    h.id = 'totp-title';
    const st = el('p', '', 'status');
    st.id = 'totp-status';
    st.setAttribute('aria-live', 'polite');
    const begin = el('button', 'Set up an authenticator app');
    begin.type = 'button';
    begin.id = 'totp-begin';
    begin.addEventListener('click', onTotpBegin);

    // enrolment: the URI as text (no QR code library), the secret, a code
    const setup = document.createElement('form');
    setup.id = 'totp-setup';
    setup.className = 'admin-form';
    setup.hidden = true;
    const uri = el('code', '');
    uri.id = 'totp-uri';
    const secret = el('code', '');
    secret.id = 'totp-secret';
    setup.append(el('p', 'Add this account to your authenticator app: paste the link below into it, '
      + 'or type the key by hand (time-based, 6 digits, 30 seconds).'),
    el('p', 'Link: '), uri, el('p', 'Key: '), secret);
    setup.append(labelled('Code the app shows', input('text', 'code', { required: '',
      inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '7', pattern: '[0-9 ]{6,7}' })));
    const ok = el('button', 'Turn on');
    ok.type = 'submit';
    setup.append(ok);
    setup.addEventListener('submit', onTotpConfirm);

    // the recovery codes, once
    const rec = document.createElement('div');
    rec.id = 'totp-recovery';
    rec.hidden = true;
    const list = document.createElement('ol');
    list.id = 'totp-recovery-codes';
    const done = el('button', 'I have saved them');
    done.type = 'button';
    done.addEventListener('click', () => { rec.hidden = true; list.replaceChildren(); load(); });
    rec.append(el('p', 'Recovery codes: each signs you in once when you do not have your phone. '
      + 'Save them now; they are not shown again.'), list, done);

    const off = document.createElement('form');
    off.id = 'totp-remove';
    off.className = 'admin-form';
    off.hidden = true;
    off.append(el('h4', 'Turn two-factor sign-in off'));
    off.append(labelled('Password', input('password', 'password', { required: '', maxlength: '1024',
      autocomplete: 'current-password' })));
    off.append(labelled('Code the app shows', input('text', 'code', { required: '', inputmode: 'numeric',
      autocomplete: 'one-time-code', maxlength: '7' })));
    const ob = el('button', 'Turn off', 'danger');
    ob.type = 'submit';
    off.append(ob);
    off.addEventListener('submit', onTotpRemove);
    sec.append(h, st, begin, setup, rec, off);
    root.append(sec);
  }

  async function loadTotp() {
    const t = await api('GET', '/api/me/totp');
    const owed = t.required && !t.enrolled;
    say('totp-status', t.enrolled ? 'On: sign-in asks for a code (' + t.recovery_left + ' recovery codes left)'
      : owed ? 'Your role needs two-factor sign-in: set it up to use earshot.' : 'Off', owed ? 'error' : '');
    $('totp-begin').hidden = t.enrolled || !$('totp-setup').hidden;
    $('totp-remove').hidden = !t.enrolled;
    return t;
  }

  async function onTotpBegin() {
    showError(null);
    try {
      const t = await api('POST', '/api/me/totp');
      $('totp-uri').textContent = t.uri;
      $('totp-secret').textContent = t.secret.replace(/(.{4})(?=.)/g, '$1 ');
      $('totp-setup').hidden = false;
      $('totp-begin').hidden = true;
      $('totp-setup').code.focus();
    } catch (e) { showError(e); }
  }

  async function onTotpConfirm(ev) {
    ev.preventDefault();
    showError(null);
    const f = ev.target;
    try {
      const r = await api('POST', '/api/me/totp/confirm', { code: f.code.value.replace(/\s/g, '') });
      f.reset();
      f.hidden = true;
      $('totp-uri').textContent = $('totp-secret').textContent = ''; // not on screen longer than needed
      const list = $('totp-recovery-codes');
      list.replaceChildren(...r.recovery_codes.map((c) => el('li', c)));
      $('totp-recovery').hidden = false;
      // the role's other pages open now
      if (state.user) { state.user.mfa_enrolment_required = false; state.user.mfa = { required: true, enrolled: true }; }
      await loadTotp();
      say('totp-status', 'Two-factor sign-in is on', 'ok');
    } catch (e) { showError(e); }
  }

  async function onTotpRemove(ev) {
    ev.preventDefault();
    showError(null);
    const f = ev.target;
    try {
      await api('DELETE', '/api/me/totp', { password: f.password.value, code: f.code.value.replace(/\s/g, '') });
      f.reset();
      await load();
    } catch (e) { showError(e); }
  }

  function build() {
    if (built) return;
    built = true;
    const root = $('account-body');
    buildTotp(root);
    const st = el('p', '', 'status');
    st.id = 'account-status';
    st.setAttribute('aria-live', 'polite');
    root.append(el('h3', 'API tokens'), st, tokenTable('tokens-table', 'Your API tokens'));

    const f = document.createElement('form');
    f.id = 'token-add';
    f.className = 'admin-form';
    f.append(el('h3', 'New API token'));
    f.append(labelled('Label', input('text', 'label', { maxlength: '100', autocomplete: 'off',
      placeholder: 'what it is for' })));
    f.append(labelled('Expires after (days, 0 = never)', input('number', 'days',
      { min: '0', max: '3650', value: '90', required: '' })));
    const sub = el('button', 'Create token');
    sub.type = 'submit';
    f.append(sub);
    const out = el('p', '', 'status');
    out.id = 'token-new';
    out.hidden = true;
    f.append(out);
    f.addEventListener('submit', onCreate);
    root.append(f);

    const pf = document.createElement('form');
    pf.id = 'password-change';
    pf.className = 'admin-form';
    pf.append(el('h3', 'Change your password'));
    pf.append(labelled('Current password', input('password', 'current', { required: '',
      maxlength: '1024', autocomplete: 'current-password' })));
    pf.append(labelled('New password', input('password', 'password', { required: '',
      minlength: '8', maxlength: '1024', autocomplete: 'new-password' })));
    const pb = el('button', 'Change password');
    pb.type = 'submit';
    pf.append(pb);
    pf.append(el('p', 'This signs you out everywhere else and revokes all your API tokens.',
      'status'));
    pf.addEventListener('submit', onPassword);
    root.append(pf);
  }

  async function load() {
    say('account-status', 'Loading…');
    try {
      const t = await loadTotp();
      // until a required second factor is on, nothing else answers
      const owed = t.required && !t.enrolled;
      for (const id of ['tokens-table', 'token-add', 'password-change']) $(id).hidden = owed;
      if (owed) { say('account-status', ''); return; }
      const r = await api('GET', '/api/tokens');
      const toks = r.tokens || [];
      tokenRows($('tokens-table').tBodies[0], toks, revoke);
      const live = toks.filter((t) => t.state === 'active').length;
      say('account-status', toks.length ? live + ' active of ' + toks.length : 'No tokens yet');
    } catch (e) { say('account-status', ''); showError(e); }
  }

  async function revoke(t) {
    showError(null);
    $('token-new').hidden = true; // a secret on screen no longer than needed
    $('token-new').replaceChildren();
    try {
      await api('DELETE', '/api/tokens/' + t.id);
      await load();
      say('account-status', 'Token ' + t.id + ' revoked', 'ok');
    } catch (e) { showError(e); }
  }

  async function onCreate(ev) {
    ev.preventDefault();
    showError(null);
    const f = ev.target;
    // The previous token's secret goes before the new one is asked for: on
    // a slow answer it would otherwise stand there as if it were the new one.
    $('token-new').hidden = true;
    $('token-new').replaceChildren();
    try {
      const t = await api('POST', '/api/tokens', { label: f.label.value,
        expires_days: Number(f.days.value) });
      f.reset();
      // Shown once: the server keeps only its hash.
      const out = $('token-new');
      out.replaceChildren(el('span', 'Token ' + t.id + ' (copy it now, it is not shown again): '),
        el('code', t.token));
      out.hidden = false;
      await load();
    } catch (e) { showError(e); }
  }

  async function onPassword(ev) {
    ev.preventDefault();
    showError(null);
    const f = ev.target;
    try {
      await api('POST', '/api/me/password', { current_password: f.current.value,
        password: f.password.value });
      f.reset();
      await load();
      say('account-status', 'Password changed; other sessions and all tokens ended', 'ok');
    } catch (e) { showError(e); }
  }

  window.earshotViews['#/account'] = {
    view: 'account-view',
    open() {
      build();
      $('token-new').hidden = true;
      load();
      $('account-title').focus();
    },
    close() {
      if (!built) return;
      $('token-new').replaceChildren();
      // secrets and recovery codes leave the page with it
      $('totp-setup').hidden = $('totp-recovery').hidden = true;
      $('totp-uri').textContent = $('totp-secret').textContent = '';
      $('totp-recovery-codes').replaceChildren();
    },
  };
})();
