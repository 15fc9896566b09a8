// earshot web UI: the QA forms tab of the admin area (#/admin/forms), for
// admins (POST /api/forms needs the admin role; the server refuses others).
// A form has sections of questions; each question is yes/no or a 1..5 scale,
// has a weight, may allow N/A and, when yes/no, may be fatal (a "no" makes
// the score 0: handlers_qa.c).  Saving a form of an existing name makes its
// next version: evaluations keep the version they were scored with, so a
// question keeps its id across versions (new questions get new ids).
// Registers with admin.js (window.earshotAdminTabs); uses app.js's $(), el(),
// row(), api(), showError(), timeCell() and TZ.
'use strict';

(function () {
  const labelled = uiLabelled, input = uiInput, button = uiButton;
  const say = (text, cls) => uiSay($('qa-forms-status'), text, cls);
  let forms = [];

  // ---- the editor: the DOM holds the form being edited ------------------------------------

  function questionRow(q) {
    const d = el('fieldset', null, 'qf-question');
    d.dataset.qid = q.id || '';
    d.append(el('legend', 'Question'));
    const kind = document.createElement('select');
    kind.name = 'kind';
    for (const [v, t] of [['yesno', 'yes / no'], ['scale', 'scale 1–5']]) {
      const o = el('option', t);
      o.value = v;
      kind.append(o);
    }
    kind.value = q.kind || 'yesno';
    const fatal = input('checkbox', 'fatal');
    fatal.checked = !!q.fatal;
    const na = input('checkbox', 'na');
    na.checked = !!q.na;
    const syncFatal = () => {
      fatal.disabled = kind.value !== 'yesno';
      if (fatal.disabled) fatal.checked = false;
    };
    kind.addEventListener('change', syncFatal);
    syncFatal();
    d.append(labelled('Question', input('text', 'text', { required: '', maxlength: '500', value: q.text || '' }), 'qf-text'),
      labelled('Kind', kind),
      labelled('Weight', input('number', 'weight', { required: '', min: '0.1', max: '100', step: 'any', value: String(q.weight || 1) }), 'qf-weight'),
      labelled('N/A allowed', na, 'check'),
      labelled('Fatal', fatal, 'check'),
      button('Remove question', () => d.remove(), 'danger'));
    return d;
  }

  function sectionBox(s) {
    const f = el('fieldset', null, 'qf-section');
    f.append(el('legend', 'Section'));
    const qs = el('div', null, 'qf-questions');
    for (const q of s.questions || []) qs.append(questionRow(q));
    f.append(labelled('Section title', input('text', 'title', { required: '', maxlength: '500', value: s.title || '' }), 'qf-title'),
      qs,
      button('Add question', () => { const r = questionRow({}); qs.append(r); r.querySelector('input').focus(); }),
      button('Remove section', () => f.remove(), 'danger'));
    return f;
  }

  function openEditor(form) {
    const ed = $('qa-form-edit');
    ed.replaceChildren();
    const h = el('h3', form ? 'Edit form "' + form.name + '" (saving makes version ' + (form.version + 1) + ')' : 'New form');
    h.id = 'qa-form-edit-title';
    h.tabIndex = -1;
    const name = input('text', 'name', { required: '', maxlength: '80', value: form ? form.name : '' });
    if (form) name.readOnly = true; // a new name would be a new form
    const secs = el('div');
    secs.id = 'qf-sections';
    for (const s of form ? form.sections : [{ title: '', questions: [{}] }]) secs.append(sectionBox(s));
    const save = el('button', 'Save form');
    save.type = 'submit';
    ed.append(h, labelled('Form name', name), secs,
      button('Add section', () => { const s = sectionBox({ questions: [{}] }); secs.append(s); s.querySelector('input').focus(); }),
      save, button('Cancel', () => { ed.hidden = true; ed.replaceChildren(); }));
    ed.hidden = false;
    h.focus();
  }

  // The editor's DOM as the API's form; question ids kept, new ones made unique.
  function readEditor() {
    const ed = $('qa-form-edit');
    const used = new Set([...ed.querySelectorAll('.qf-question')].map((q) => q.dataset.qid).filter(Boolean));
    let n = 1;
    const fresh = () => { while (used.has('q' + n)) n++; used.add('q' + n); return 'q' + n; };
    return {
      name: ed.querySelector('input[name="name"]').value.trim(),
      sections: [...ed.querySelectorAll('.qf-section')].map((s) => ({
        title: s.querySelector('input[name="title"]').value.trim(),
        questions: [...s.querySelectorAll('.qf-question')].map((q) => {
          const o = {
            id: q.dataset.qid || fresh(),
            text: q.querySelector('input[name="text"]').value.trim(),
            kind: q.querySelector('select[name="kind"]').value,
            weight: +q.querySelector('input[name="weight"]').value,
          };
          if (q.querySelector('input[name="na"]').checked) o.na = true;
          if (q.querySelector('input[name="fatal"]').checked) o.fatal = true;
          return o;
        }),
      })),
    };
  }

  async function onSave(ev) {
    ev.preventDefault();
    const body = readEditor();
    if (!body.sections.length || body.sections.some((s) => !s.questions.length)) {
      say('Every form needs a section, and every section a question.', 'bad');
      return;
    }
    showError(null);
    try {
      const f = await api('POST', '/api/forms', body);
      $('qa-form-edit').hidden = true;
      $('qa-form-edit').replaceChildren();
      await load();
      say('Saved "' + f.name + '" as version ' + f.version + '.', 'ok');
    } catch (e) { showError(e); }
  }

  // ---- the list ------------------------------------------------------------------------------

  function render() {
    const tb = $('qa-forms-table').tBodies[0];
    tb.replaceChildren();
    for (const f of forms) {
      const nq = f.sections.reduce((n, s) => n + s.questions.length, 0);
      const nf = f.sections.reduce((n, s) => n + s.questions.filter((q) => q.fatal).length, 0);
      const tr = row([f.name, ['v' + f.version, 'num'], [nq + (nf ? ' (' + nf + ' fatal)' : ''), 'num'],
        timeCell(f.created), f.created_by,
        button('Edit', () => openEditor(f), null, 'Edit form ' + f.name)], $('qa-forms-table'));
      tr.dataset.form = f.name;
      tb.append(tr);
    }
    if (!forms.length) tb.append(row(['No forms yet.']));
  }

  async function load() {
    say('Loading…');
    try {
      forms = (await api('GET', '/api/forms')).forms || [];
      render();
      say(forms.length + ' form' + (forms.length === 1 ? '' : 's') + ' (the newest version of each)');
    } catch (e) { say(''); showError(e); }
  }

  function build(p) {
    const t = el('table', null, 'grid');
    t.id = 'qa-forms-table';
    t.append(el('caption', 'QA forms', 'sr-only'));
    const head = document.createElement('thead');
    const tr = document.createElement('tr');
    for (const [h, cls] of [['Name'], ['Version', 'num'], ['Questions', 'num'], ['Saved (' + TZ + ')'], ['By'], ['Actions']]) {
      const th = el('th', h, cls);
      th.scope = 'col';
      tr.append(th);
    }
    head.append(tr);
    t.append(head, document.createElement('tbody'));
    const st = el('p', '', 'status');
    st.id = 'qa-forms-status';
    st.setAttribute('aria-live', 'polite');
    const ed = el('form', null, 'admin-form qf-editor');
    ed.id = 'qa-form-edit';
    ed.hidden = true;
    ed.addEventListener('submit', onSave);
    p.append(el('h3', 'QA forms'), st, t, button('New form', () => openEditor(null)), ed);
  }

  window.earshotAdminTabs = window.earshotAdminTabs || [];
  window.earshotAdminTabs.push({ id: 'forms', label: 'QA forms', roles: ['admin'], build, load });
})();
