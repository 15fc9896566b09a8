// earshot web UI: QA scorecards (issue #18), over handlers_qa.c's API.
//  - the scoring panel on the call page (#qa-panel): the roles that may
//    evaluate (GET /api/me permissions.evaluate: admins, supervisors) pick a
//    form, answer it while the player keeps playing, see the score as the
//    server computes it and save it; everyone who may view the call sees its
//    evaluations read-only (an agent their own calls'); a role that may not
//    evaluate and has nothing to read sees no panel at all;
//  - the report page (#/reports/qa?from=...Z&to=...Z&agent=&team=&form=):
//    average, weekly trend, agents and lowest questions of
//    GET /api/reports/qa, times in the browser's zone, with the same
//    report's CSV (format=csv, audited as an export by the server).
// Uses $(), el(), row(), api(), state, perm(), showError(), timeCell(),
// fmtTime() and TZ of app.js, timeParam()/localInput() of search.js.
'use strict';

// ---- scoring: the rule of handlers_qa.c, for the figure shown while answering ----------

// A question earns its weight for "yes", nothing for "no", weight * (v - 1) / 4
// for a scale answer v of 1..5; "na" leaves it out of both sums; a fatal
// question answered "no" makes the score 0.  null until every question is
// answered (the server refuses an incomplete evaluation).
function qaScore(form, answers) {
  let earned = 0, possible = 0, fatal = false;
  for (const s of form.sections) {
    for (const q of s.questions) {
      const a = answers[q.id];
      if (a === undefined) return null;
      if (a === 'na') continue;
      possible += q.weight;
      if (q.kind === 'yesno') {
        if (a === 'yes') earned += q.weight;
        else if (q.fatal) fatal = true;
      } else earned += q.weight * (a - 1) / 4;
    }
  }
  if (!(possible > 0)) return null;
  return { score: fatal ? 0 : 100 * earned / possible, fatal, earned, possible };
}

const qaFmt = (x) => (x === null || x === undefined ? '–' : (+x).toFixed(2));

(function () {
  const formsById = {};   // form id (a version) -> the form, as GET /api/forms/{id} gives it
  let forms = [];         // the newest version of each form
  let shown = null;       // the call the panel is for
  let answers = {};       // question id -> "yes" | "no" | "na" | 1..5
  let current = null;     // the form being answered

  const panel = () => $('qa-panel');
  const canEvaluate = () => perm('evaluate') !== 'none';

  const say = (text, cls) => uiSay($('qa-status'), text, cls);

  window.qaClear = function () {
    shown = null;
    current = null;
    answers = {};
    panel().hidden = true;
    panel().replaceChildren();
  };

  async function formOf(id) {
    if (!formsById[id]) formsById[id] = await api('GET', '/api/forms/' + id);
    return formsById[id];
  }

  // The call's evaluations, newest last; each with its answers in a disclosure.
  function renderEvals(list, texts) {
    const box = $('qa-evals');
    box.replaceChildren();
    if (!list.length) {
      box.append(el('p', 'No evaluations of this call yet.', 'status'));
      return;
    }
    const t = el('table', null, 'grid');
    t.id = 'qa-evals-table';
    t.append(el('caption', 'Evaluations of this call', 'sr-only'));
    const head = document.createElement('thead');
    const hr = document.createElement('tr');
    for (const [h, cls] of [['Time (' + TZ + ')'], ['Form'], ['Evaluator'], ['Agent'], ['Score', 'num'],
      ['Comment'], ['Answers']]) {
      const th = el('th', h, cls);
      th.scope = 'col';
      hr.append(th);
    }
    head.append(hr);
    t.append(head, document.createElement('tbody'));
    for (const e of list) {
      const d = el('details');
      d.append(el('summary', e.answers.length + ' answers'));
      const ul = el('ul', null, 'qa-answers');
      const tx = texts[e.form] || {};
      for (const a of e.answers) {
        ul.append(el('li', (tx[a.question] || a.question) + ': ' + a.answer +
          (a.answer === 'na' ? ' (left out)' : ' (' + (+a.earned).toFixed(2) + ' of ' + (+a.possible).toFixed(2) + ')')));
      }
      d.append(ul);
      const tr = row([timeCell(e.created), e.form_name + ' v' + e.form_version, e.evaluator, e.agent || '–',
        [qaFmt(e.score) + (e.fatal ? ' (fatal)' : ''), 'num' + (e.fatal ? ' qa-fatal' : '')], e.comment || '', d], t);
      tr.dataset.evaluation = String(e.id);
      t.tBodies[0].append(tr);
    }
    box.append(t);
  }

  async function showEvals(c, list) {
    const texts = {};
    for (const id of new Set(list.map((e) => e.form))) {
      try {
        const f = await formOf(id);
        texts[id] = {};
        for (const s of f.sections) for (const q of s.questions) texts[id][q.id] = q.text;
      } catch (e) { /* the ids are shown instead */ }
    }
    if (shown === c) renderEvals(list, texts);
  }

  // One question: its text, weight, fatal mark and a radio group of answers.
  function question(q) {
    const fs = el('fieldset', null, 'qa-q' + (q.fatal ? ' fatal' : ''));
    fs.dataset.question = q.id;
    const lg = el('legend');
    lg.append(el('span', q.text, 'qa-text'), ' ', el('span', 'weight ' + q.weight, 'qa-weight'));
    if (q.fatal) {
      const f = el('span', 'fatal', 'qa-fatal');
      f.title = '"No" makes the whole score 0';
      lg.append(' ', f);
    }
    fs.append(lg);
    const opts = q.kind === 'yesno' ? [['yes', 'Yes'], ['no', 'No']]
      : [1, 2, 3, 4, 5].map((v) => [v, String(v)]);
    if (q.na) opts.push(['na', 'N/A']);
    for (const [v, label] of opts) {
      const l = el('label', null, 'qa-opt');
      const i = document.createElement('input');
      i.type = 'radio';
      i.name = 'qa-' + q.id;
      i.value = String(v);
      i.addEventListener('change', () => { answers[q.id] = v; updateScore(); });
      l.append(i, ' ' + label);
      fs.append(l);
    }
    if (q.kind === 'scale') fs.append(el('span', '1 = poor, 5 = excellent', 'status qa-hint'));
    return fs;
  }

  function updateScore() {
    const out = $('qa-score');
    const r = current ? qaScore(current, answers) : null;
    const left = current ? current.sections.reduce((n, s) => n + s.questions.filter((q) => answers[q.id] === undefined).length, 0) : 0;
    if (!r) {
      out.textContent = current ? (left ? left + ' question' + (left === 1 ? '' : 's') + ' to answer' : 'nothing to score: every answer is N/A') : '';
      out.dataset.score = '';
      $('qa-save').disabled = true;
      return;
    }
    out.textContent = 'Score ' + qaFmt(r.score) + ' %' + (r.fatal ? ' (a fatal question answered "no")' : '') +
      ' — ' + r.earned.toFixed(2) + ' of ' + r.possible.toFixed(2) + ' points';
    out.dataset.score = qaFmt(r.score);
    $('qa-save').disabled = false;
  }

  function pickForm(id) {
    answers = {};
    current = forms.find((f) => String(f.id) === String(id)) || null;
    const box = $('qa-questions');
    box.replaceChildren();
    if (current) {
      for (const s of current.sections) {
        const fs = el('fieldset', null, 'qa-section');
        fs.append(el('legend', s.title));
        for (const q of s.questions) fs.append(question(q));
        box.append(fs);
      }
    }
    $('qa-comment-row').hidden = !current;
    updateScore();
  }

  function scoringForm() {
    const f = el('form', null, 'qa-form');
    f.id = 'qa-form';
    f.setAttribute('aria-labelledby', 'qa-form-title');
    f.append(el('h4', 'Score this call', null));
    f.lastChild.id = 'qa-form-title';
    const pick = el('select');
    pick.id = 'qa-form-pick';
    pick.append(el('option', forms.length ? 'choose a form…' : 'no forms: an admin defines them under Admin → QA forms'));
    pick.firstChild.value = '';
    for (const fm of forms) {
      const o = el('option', fm.name + ' (v' + fm.version + ')');
      o.value = String(fm.id);
      pick.append(o);
    }
    pick.addEventListener('change', () => pickForm(pick.value));
    const lp = el('label', 'Form');
    lp.htmlFor = 'qa-form-pick';
    const top = el('p', null, 'inline-form');
    top.append(lp, pick);
    const qs = el('div');
    qs.id = 'qa-questions';
    const cr = el('p', null, 'qa-comment');
    cr.id = 'qa-comment-row';
    cr.hidden = true;
    const cl = el('label', 'Comment (optional)');
    cl.htmlFor = 'qa-comment';
    const ta = el('textarea');
    ta.id = 'qa-comment';
    ta.rows = 2;
    ta.maxLength = 2000;
    cr.append(cl, ta);
    const bar = el('p', null, 'inline-form');
    const out = el('output');
    out.id = 'qa-score';
    out.setAttribute('aria-live', 'polite');
    const save = el('button', 'Save evaluation');
    save.type = 'submit';
    save.id = 'qa-save';
    save.disabled = true;
    bar.append(save, out);
    f.append(top, qs, cr, bar);
    f.addEventListener('submit', onSave);
    return f;
  }

  async function onSave(ev) {
    ev.preventDefault();
    const c = shown;
    if (!c || !current || !qaScore(current, answers)) return;
    $('qa-save').disabled = true;
    showError(null);
    say('Saving…');
    try {
      const body = { form: current.id, answers: Object.assign({}, answers) };
      const comment = $('qa-comment').value.trim();
      if (comment) body.comment = comment;
      const r = await api('POST', '/api/calls/' + c.id + '/evaluations', body);
      if (shown !== c) return;
      const list = r.evaluations || [];
      const mine = list[list.length - 1];
      say('Saved: score ' + qaFmt(mine && mine.score) + ' % as the server computed it' +
        (mine && mine.agent ? ', agent ' + mine.agent : '') + '.', 'ok');
      $('qa-status').dataset.score = mine ? qaFmt(mine.score) : '';
      $('qa-form-pick').value = '';
      $('qa-comment').value = '';
      pickForm('');
      showEvals(c, list);
    } catch (e) {
      say('');
      showError(e);
      if (shown === c) updateScore();
    }
  }

  // Called by app.js's openCall for the call shown (answers that come back
  // after another call was opened are dropped: shown !== c).
  window.qaShow = async function (c) {
    window.qaClear();
    shown = c;
    const p = panel();
    let list;
    try {
      list = (await api('GET', '/api/calls/' + c.id + '/evaluations')).evaluations || [];
    } catch (e) {
      return; // not for this role (or not now): no panel
    }
    if (shown !== c) return;
    const canEval = canEvaluate();
    if (!canEval && !list.length) return; // nothing this user can read or do here
    if (canEval) {
      try { forms = (await api('GET', '/api/forms')).forms || []; } catch (e) { forms = []; }
      if (shown !== c) return;
    }
    const h = el('h3', canEval ? 'Quality evaluation' : 'Quality evaluations (read-only)');
    h.id = 'qa-title';
    const evals = el('div');
    evals.id = 'qa-evals';
    p.append(h, evals);
    if (canEval) p.append(scoringForm());
    const st = el('p', '', 'status');
    st.id = 'qa-status';
    st.setAttribute('aria-live', 'polite');
    p.append(st);
    p.hidden = false;
    showEvals(c, list);
  };
})();

// ---- the report page (#/reports/qa) -----------------------------------------------------------

(function () {
  let seq = 0;
  const KEYS = ['from', 'to', 'agent', 'team', 'form'];

  function field(id, label, input) {
    const d = el('div');
    const l = el('label', label);
    l.htmlFor = id;
    input.id = id;
    d.append(l, input);
    return d;
  }

  function text(max, pattern) {
    const i = el('input');
    i.maxLength = max;
    if (pattern) i.pattern = pattern;
    i.autocomplete = 'off';
    return i;
  }

  function when() {
    const i = el('input');
    i.type = 'datetime-local';
    i.step = '1';
    return i;
  }

  function build(body) {
    const f = el('form', null, 'filters');
    f.id = 'qa-report-form';
    const form = el('select');
    form.append(el('option', 'any'));
    form.firstChild.value = '';
    f.append(field('qa-r-from', 'From (' + TZ + ')', when()), field('qa-r-to', 'To (' + TZ + ')', when()),
      field('qa-r-agent', 'Agent', text(64, '[A-Za-z0-9][A-Za-z0-9._@\\-]*')),
      field('qa-r-team', 'Team', text(64, '[A-Za-z0-9][A-Za-z0-9._@\\-]*')), field('qa-r-form', 'Form', form));
    const act = el('div', null, 'actions');
    const go = el('button', 'Show report');
    go.type = 'submit';
    act.append(go);
    f.append(act);
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const u = new URLSearchParams();
      const v = {
        from: timeParam($('qa-r-from').value), to: timeParam($('qa-r-to').value),
        agent: $('qa-r-agent').value.trim(), team: $('qa-r-team').value.trim(), form: $('qa-r-form').value,
      };
      for (const k of KEYS) if (v[k]) u.set(k, v[k]);
      location.hash = '#/reports/qa' + (u.toString() ? '?' + u.toString() : '');
    });
    const st = el('p', '', 'status');
    st.id = 'qa-report-status';
    st.setAttribute('aria-live', 'polite');
    const csv = el('a', 'Download CSV', 'button');
    csv.id = 'qa-report-csv';
    csv.setAttribute('download', 'qa-report.csv');
    csv.hidden = true;
    const out = el('div');
    out.id = 'qa-report-out';
    const pc = el('p');
    pc.append(csv);
    body.append(f, st, pc, out);
  }

  function table(id, caption, heads, rows) {
    const t = uiTable(id, caption, heads);
    for (const r of rows) t.tBodies[0].append(row(r, t));
    if (!rows.length) t.tBodies[0].append(row(['none']));
    return t;
  }

  // A bar for an average (0..100), told by its number too, never by length alone.
  function bar(avg) {
    const s = el('span', null, 'qa-bar');
    const b = el('span', null, 'qa-bar-fill');
    b.style.width = Math.max(0, Math.min(100, +avg)) + '%';
    s.append(b);
    s.setAttribute('aria-hidden', 'true');
    const w = el('span');
    w.append(el('span', qaFmt(avg), 'qa-avg'), ' ', s);
    return w;
  }

  function linkTo(key, value, q) {
    const a = el('a', value);
    const u = new URLSearchParams(q);
    u.set(key, value);
    a.href = '#/reports/qa?' + u.toString();
    return a;
  }

  function render(r, q, names) {
    const out = $('qa-report-out');
    out.replaceChildren();
    const dl = el('dl', null, 'dash-numbers');
    dl.id = 'qa-report-summary';
    dl.append(el('dt', 'Evaluations'), el('dd', r.count), el('dt', 'Average score'), el('dd', qaFmt(r.average)));
    out.append(dl);
    const prev = [null];
    out.append(el('h3', 'Trend by week (weeks from Monday 00:00 UTC)'),
      table('qa-report-weeks', 'Average score per week', [['Week of'], ['Evaluations', 'num'], ['Average'], ['Change', 'num']],
        (r.weeks || []).map((w) => {
          const d = prev[0] === null ? '' : ((w.average - prev[0] >= 0 ? '+' : '') + (w.average - prev[0]).toFixed(2));
          prev[0] = w.average;
          return [String(w.week).slice(0, 10), [w.count, 'num'], bar(w.average), [d, 'num']];
        })));
    out.append(el('h3', 'Agents'),
      table('qa-report-agents', 'Average score per agent', [['Agent'], ['Evaluations', 'num'], ['Average']],
        (r.agents || []).map((a) => [a.agent ? linkTo('agent', a.agent, q) : '(no agent)', [a.count, 'num'], bar(a.average)])));
    out.append(el('h3', 'Lowest-scoring questions'),
      table('qa-report-lowest', 'Questions with the lowest share of their points', [['Question'], ['Answers', 'num'], ['Points earned (%)']],
        (r.lowest || []).map((x) => [names[x.question] ? names[x.question] + ' (' + x.question + ')' : x.question,
          [x.count, 'num'], bar(x.average)])));
    out.append(el('h3', 'Evaluations'),
      table('qa-report-evals', 'The evaluations of the report', [['Time (' + TZ + ')'], ['Call'], ['Agent'],
        ['Evaluator'], ['Form'], ['Score', 'num']], (r.evaluations || []).map((e) => {
        const a = el('a', String(e.call));
        a.href = '#/call/' + e.call;
        return [timeCell(e.created), a, e.agent || '–', e.evaluator, e.form_name + ' v' + e.form_version,
          [qaFmt(e.score) + (e.fatal ? ' (fatal)' : ''), 'num']];
      })));
  }

  async function open(hash) {
    const body = $('qa-report-body');
    if (!body.firstChild) build(body);
    const qi = hash.indexOf('?');
    const q = new URLSearchParams(qi >= 0 ? hash.slice(qi + 1) : '');
    $('qa-r-from').value = q.get('from') ? localInput(q.get('from')) : '';
    $('qa-r-to').value = q.get('to') ? localInput(q.get('to')) : '';
    $('qa-r-agent').value = q.get('agent') || '';
    $('qa-r-team').value = q.get('team') || '';
    const api_q = new URLSearchParams();
    for (const k of KEYS) if (q.get(k)) api_q.set(k, q.get(k));
    const my = ++seq;
    $('qa-report-status').textContent = 'Loading…';
    $('qa-report-csv').hidden = true;
    $('qa-report-out').replaceChildren();
    showError(null);
    try {
      const [r, fl] = await Promise.all([api('GET', '/api/reports/qa?' + api_q.toString()),
        api('GET', '/api/forms').catch(() => ({ forms: [] }))]);
      if (my !== seq) return;
      const sel = $('qa-r-form');
      sel.replaceChildren(el('option', 'any'));
      sel.firstChild.value = '';
      const names = {};
      for (const f of fl.forms || []) {
        const o = el('option', f.name);
        o.value = f.name;
        sel.append(o);
        for (const s of f.sections) for (const x of s.questions) names[x.id] = names[x.id] || x.text;
      }
      sel.value = q.get('form') || '';
      render(r, q, names);
      $('qa-report-out').dataset.q = api_q.toString(); // what it shows (tests wait on it)
      const csvq = new URLSearchParams(api_q);
      csvq.set('format', 'csv');
      $('qa-report-csv').href = '/api/reports/qa?' + csvq.toString();
      $('qa-report-csv').hidden = false;
      const shown = (r.evaluations || []).length;
      $('qa-report-status').textContent = r.count + ' evaluation' + (r.count === 1 ? '' : 's') +
        (shown < r.count ? ' (the newest ' + shown + ' listed)' : '') + '; times in ' + TZ + '.';
    } catch (e) {
      if (my !== seq) return;
      $('qa-report-status').textContent = '';
      showError(e);
    }
  }

  window.earshotViews['#/reports/qa'] = {
    view: 'qa-report-view',
    open(hash) {
      if (perm('evaluate') === 'none') { location.hash = '#/calls'; return; }
      open(hash);
      $('qa-report-title').focus();
    },
  };
})();
