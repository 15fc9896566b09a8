// qa_roles_test.mjs - who sees which QA controls in Chromium (web/qa.js,
// web/qaforms.js, web/teams.js), after qa_test.mjs has scored UI_CALL:
//  - agent1 (the call's agent): the call's evaluations read-only, no scoring
//    form, no "QA reports" link, no Admin link; #/reports/qa and
//    #/admin/forms send them back to the calls;
//  - audit1 (an auditor): the evaluations read-only, no scoring form, no
//    "QA reports" link, the admin area without the QA forms and Teams tabs;
//    #/reports/qa sends them back; on a call nobody scored
//    (UI_OTHER_CALL) no QA panel at all;
//  - super1 (a supervisor): the scoring form and the report link, but no
//    Admin link.
// Writes UI_OUT (JSON): {unexpected: [...]} (controls a role cannot use).
// Environment: UI_URL, UI_PASSWORD, UI_CALL, UI_OTHER_CALL, UI_OUT, CHROMIUM.
// Run by tests/integration/test_qa_ui.py.
import { chromium } from 'playwright-core';
import fs from 'node:fs';

const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
const URL_ = env('UI_URL', '');
if (!URL_) { console.error('UI_URL is not set (tests/integration/test_qa_ui.py passes it)'); process.exit(2); }
const CALL = env('UI_CALL', '');
const OTHER = env('UI_OTHER_CALL', '');
const unexpected = [];
let step = 'start';
let rc = 0;
const browser = await chromium.launch({ executablePath: env('CHROMIUM', '/usr/bin/chromium'), headless: true, args: ['--no-sandbox'] });

async function session(name) {
  const page = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
  page.setDefaultTimeout(20000);
  await page.goto(URL_ + '/#/calls');
  await page.locator('#login-name').fill(name);
  await page.locator('#login-password').fill(env('UI_PASSWORD', ''));
  await page.locator('#login-submit').click();
  await page.locator('#search-view').waitFor({ state: 'visible' });
  return page;
}

const visible = (page, sel) => page.locator(sel).first().isVisible();

async function expectNot(page, who, sel, what) {
  if (await visible(page, sel)) unexpected.push(who + ' sees ' + what);
}

// A page the role may not use: the UI goes back to the calls.
async function sentBack(page, who, hash) {
  await page.goto(URL_ + '/' + hash);
  try {
    await page.waitForFunction(() => location.hash.startsWith('#/calls'), null, { timeout: 5000 });
  } catch (e) {
    unexpected.push(who + ' stays on ' + hash);
  }
}

async function callPage(page, id) {
  await page.goto(URL_ + '/#/call/' + id);
  await page.locator('#call-view').waitFor({ state: 'visible' });
  await page.waitForFunction(() => !/loading/.test(document.getElementById('call-title').textContent));
}

try {
  for (const who of ['agent1', 'audit1']) {
    step = who;
    const page = await session(who);
    await expectNot(page, who, '#nav-reports', 'the QA reports link');
    await callPage(page, CALL);
    await page.locator('#qa-evals tbody tr').first().waitFor();
    await expectNot(page, who, '#qa-form', 'the scoring form');
    await expectNot(page, who, '#qa-save', 'the Save evaluation button');
    await sentBack(page, who, '#/reports/qa');
    if (who === 'agent1') {
      await expectNot(page, who, '#nav-admin', 'the Admin link');
      await sentBack(page, who, '#/admin/forms');
    } else {
      await page.goto(URL_ + '/#/admin/forms');
      await page.locator('#admin-view').waitFor({ state: 'visible' });
      const tabs = await page.getByRole('tab').allTextContents();
      const shown = [];
      for (const t of ['QA forms', 'Teams']) if (await page.getByRole('tab', { name: t }).isVisible()) shown.push(t);
      if (shown.length) unexpected.push(who + ' sees the admin tabs ' + shown.join(', '));
      if (await visible(page, '#qa-form-edit') || await visible(page, '#team-add')) unexpected.push(who + ' sees a QA admin form');
      console.log(who + ': admin tabs ' + tabs.filter(Boolean).join(', '));
      if (OTHER) {
        await callPage(page, OTHER);
        await page.waitForTimeout(700); // the panel's requests
        await expectNot(page, who, '#qa-panel', 'a QA panel on a call nobody scored');
      }
    }
    console.log(who + ': checked');
    await page.context().close();
  }
  step = 'super1';
  const sup = await session('super1');
  if (!(await visible(sup, '#nav-reports'))) unexpected.push('super1 has no QA reports link');
  await expectNot(sup, 'super1', '#nav-admin', 'the Admin link');
  await callPage(sup, CALL);
  await sup.locator('#qa-form-pick').waitFor();
  console.log('super1: checked');
} catch (e) {
  console.error('FAILED at "' + step + '": ' + e.message);
  rc = 1;
} finally {
  fs.writeFileSync(env('UI_OUT', 'roles.json'), JSON.stringify({ unexpected }));
  await browser.close();
}
if (unexpected.length) console.error('unexpected: ' + unexpected.join('; '));
process.exit(rc || (unexpected.length ? 1 : 0));
