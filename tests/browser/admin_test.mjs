// admin_test.mjs - the admin area in Chromium headless (playwright-core), at
// 1366x768: an admin logs in, opens Admin (by the keyboard), adds a user,
// changes its role, disables it, sees the rules, finds those actions in
// the audit log and verifies the chain; makes two API tokens on the Account
// page and revokes one, revokes the auditor's token (UI_OTHER_TOKEN, label
// "ui-auditor") in the auditor's user editor; then an auditor logs in and
// sees the Rules and Audit tabs but no Users tab, on the Account page their
// token revoked by the admin, and changes their password (a wrong current
// one first), staying signed in.  Screenshots go to OUT.
// Exit 0 when every step passed, 1 with the failed step's message.
//
// Environment: UI_URL (required), UI_ADMIN, UI_AUDITOR,
// UI_PASSWORD (of both), UI_OTHER_TOKEN (a live token of UI_AUDITOR),
// UI_OUT (screenshot folder), CHROMIUM.
// Run by tests/integration/test_admin.py (against `serve -c` with rules).
import { chromium } from 'playwright-core';
import path from 'node:path';
import fs from 'node:fs';

const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
const URL_ = env('UI_URL', '');
if (!URL_) {
  console.error('UI_URL is not set (tests/integration/test_admin.py passes it)');
  process.exit(2);
}
const OTHER_TOKEN = env('UI_OTHER_TOKEN', '');
const ADMIN = env('UI_ADMIN', 'admin1');
const AUDITOR = env('UI_AUDITOR', 'audit1');
const PASSWORD = env('UI_PASSWORD', '');
const OUT = env('UI_OUT', '.');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const NEW_USER = 'uiuser1';
const T = 20000;

fs.mkdirSync(OUT, { recursive: true });
const t0 = Date.now();
let step = 'start';
let steps = 0;
const log = (m) => { steps++; console.log('[%s s] %s', ((Date.now() - t0) / 1000).toFixed(2), m); };
const fail = (m) => { throw new Error(m); };

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
let page;
let rc = 0;
const consoleErrors = [];

async function login(name) {
  await page.goto(URL_ + '/#/calls');
  await page.locator('#login-view').waitFor({ state: 'visible' });
  await page.getByLabel('User name').fill(name);
  await page.locator('#login-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#search-view').waitFor({ state: 'visible' });
}

async function shot(name) {
  const p = path.join(OUT, name);
  await page.screenshot({ path: p, fullPage: true });
  console.log('screenshot: ' + p);
}

try {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  page = await ctx.newPage();
  page.setDefaultTimeout(T);
  page.on('console', (m) => {
    // 401 (/api/me before login) and 403/409 answers the UI shows are expected
    // (403 also for the wrong current password on purpose)
    if (m.type() === 'error' && !/status of (401|403|409)/.test(m.text())) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push('pageerror: ' + e.message));

  step = 'log in as admin';
  await login(ADMIN);
  log('logged in as ' + ADMIN);

  step = 'open Admin with the keyboard';
  const nav = page.locator('#nav-admin');
  await nav.waitFor({ state: 'visible' });
  await nav.focus();
  await page.keyboard.press('Enter');
  await page.locator('#admin-view').waitFor({ state: 'visible' });
  await page.locator('#users-table tbody tr').first().waitFor();
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
  if (focused !== 'admin-title') fail('focus after navigation on #' + focused);
  const tabs = await page.getByRole('tab').allTextContents();
  if (tabs.join('|') !== 'Users|Rules|Audit log|QA forms|Teams') fail('admin tabs: ' + tabs.join('|'));
  log('Admin opened (focus on its heading), tabs ' + tabs.join(', '));

  step = 'add a user';
  const add = page.locator('#user-add');
  await add.getByLabel('Name').fill(NEW_USER);
  await add.getByLabel('Password', { exact: true }).fill('ui password 123');
  await add.getByLabel('Role').selectOption('agent');
  await add.getByLabel('Numbers').fill('2001, +1 555 0100');
  await add.getByRole('button', { name: 'Add user' }).click();
  const urow = page.locator(`#users-table tr[data-user="${NEW_USER}"]`);
  await urow.waitFor();
  const cells = await urow.locator('td').allTextContents();
  if (cells[1] !== 'agent' || cells[2] !== '2001, 15550100' || cells[4] !== 'enabled') fail('new row: ' + cells.join('|'));
  log('user added: ' + cells.slice(0, 5).join(' | '));
  await shot('admin-users.png');

  step = 'change its role';
  await page.getByRole('button', { name: 'Edit ' + NEW_USER }).click();
  await page.locator('#user-edit-title').waitFor();
  const f1 = await page.evaluate(() => document.activeElement && document.activeElement.id);
  if (f1 !== 'user-edit-title') fail('focus after Edit on #' + f1);
  await page.locator('#user-edit-form').getByLabel('Role').selectOption('supervisor');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.locator('#users-status').filter({ hasText: 'saved: role' }).waitFor();
  await urow.locator('td').nth(1).filter({ hasText: 'supervisor' }).waitFor();
  log('role changed to supervisor');

  step = 'disable it';
  await page.getByRole('button', { name: 'Disable ' + NEW_USER }).click();
  await urow.locator('td').nth(4).filter({ hasText: 'disabled' }).waitFor();
  await page.getByRole('button', { name: 'Enable ' + NEW_USER }).waitFor();
  log('user disabled (the button now offers Enable)');

  step = 'an admin cannot disable himself';
  await page.getByRole('button', { name: 'Edit ' + ADMIN }).click();
  await page.locator('#user-edit-title').filter({ hasText: ADMIN }).waitFor();
  if (!(await page.getByRole('button', { name: 'Disable ' + ADMIN }).isDisabled())) fail('self-disable offered');
  log('the Disable button of oneself is disabled');

  // Whether a token opens the API (a request of its own, no cookie).
  const tokenWorks = (tok) => page.evaluate(async (t) => (await fetch('/api/me', {
    credentials: 'omit', headers: { Authorization: 'Bearer ' + t } })).status, tok);

  step = 'make two API tokens on the Account page';
  await page.locator('#nav-account').click();
  await page.locator('#account-view').waitFor({ state: 'visible' });
  const made = {};
  const trow = (label) => page.locator('#tokens-table tbody tr').filter({ hasText: label });
  // The server answers POST /api/tokens late, as on a loaded machine: the
  // secret read must be the new token's, not the one still on screen from
  // the token before (that mix-up once made "the revoked token still works"
  // fail: the test had read ui-ci's secret as ui-other's).
  const slow = async (r) => {
    if (r.request().method() === 'POST') await new Promise((ok) => setTimeout(ok, 400));
    await r.continue();
  };
  await page.route('**/api/tokens', slow);
  for (const label of ['ui-ci', 'ui-other']) {
    const tf = page.locator('#token-add');
    await tf.getByLabel('Label').fill(label);
    await tf.getByLabel(/Expires after/).fill(label === 'ui-ci' ? '7' : '0');
    await tf.getByRole('button', { name: 'Create token' }).click();
    // the secret shown belongs to this label's row: its id, est_<id>_...
    await trow(label).waitFor();
    const id = await trow(label).getAttribute('data-token');
    const code = page.locator('#token-new code');
    await code.filter({ hasText: new RegExp('^est_' + id + '_[0-9a-f]{64}$') }).waitFor();
    made[label] = await code.textContent();
  }
  await page.unroute('**/api/tokens', slow);
  if (made['ui-ci'] === made['ui-other']) fail('one secret shown for two tokens');
  const ciCells = await trow('ui-ci').locator('td').allTextContents();
  if (ciCells[2] !== 'active' || ciCells[5] === 'never') fail('ui-ci row: ' + ciCells.join('|'));
  if ((await trow('ui-other').locator('td').nth(5).textContent()) !== 'never') fail('ui-other expires');
  if (await tokenWorks(made['ui-other']) !== 200) fail('the new token does not work');
  log('tokens made: ' + ciCells.slice(0, 3).join(' | ') + ' (shown once)');

  step = 'revoke one of them';
  await trow('ui-other').getByRole('button', { name: /^Revoke token/ }).click();
  await trow('ui-other').locator('td').nth(2).filter({ hasText: /^revoked by / }).waitFor();
  {
    const st = await tokenWorks(made['ui-other']);
    if (st !== 401) fail('the revoked token still works (HTTP ' + st + ' for GET /api/me)');
  }
  if (await tokenWorks(made['ui-ci']) !== 200) fail('the other token stopped working');
  if (await trow('ui-other').getByRole('button').count()) fail('a revoked token offers Revoke');
  log('token revoked: 401 for it, 200 for the other');
  await shot('account-tokens.png');

  step = "revoke the auditor's token as admin";
  if (OTHER_TOKEN && await tokenWorks(OTHER_TOKEN) !== 200) fail("the auditor's token does not work");
  await page.locator('#nav-admin').click();
  await page.getByRole('button', { name: 'Edit ' + AUDITOR }).click();
  await page.locator('#user-edit-title').filter({ hasText: AUDITOR }).waitFor();
  const orow = page.locator('#user-tokens-table tbody tr').filter({ hasText: 'ui-auditor' });
  await orow.getByRole('button', { name: /^Revoke token/ }).click();
  await orow.locator('td').nth(2).filter({ hasText: 'revoked by ' + ADMIN }).waitFor();
  if (OTHER_TOKEN && await tokenWorks(OTHER_TOKEN) !== 401) fail("the auditor's token still works");
  log("the auditor's token revoked from the user editor");

  step = 'see the rules';
  await page.getByRole('tab', { name: 'Rules' }).click();
  await page.locator('#rules-table tbody tr').first().waitFor();
  const rules = await page.locator('#rules-table tbody tr').evaluateAll((rs) => rs.map((r) => r.dataset.rule));
  if (rules.join(',') !== 'sales-inbound,partners') fail('rules shown: ' + rules.join(','));
  const summary = await page.locator('#rules-summary').textContent();
  if (!/\+4930555123/.test(summary) || !/10\.0\.0\.0\/8/.test(summary) || !/Europe\/Berlin/.test(summary)) fail('summary: ' + summary);
  const cond = await page.locator('#rules-table tbody tr').first().locator('td').nth(3).textContent();
  if (!/callee 1200-1299/.test(cond) || !/inbound/.test(cond) || !/08:00–18:00/.test(cond)) fail('conditions: ' + cond);
  log('rules: ' + rules.join(', ') + '; first: ' + cond);
  await shot('admin-rules.png');

  step = 'find the actions in the audit log';
  await page.getByRole('tab', { name: 'Audit log' }).click();
  const af = page.locator('#audit-form');
  await af.getByLabel('Action').fill('user.');
  await af.getByRole('button', { name: 'Show' }).click();
  await page.locator('#audit-status').filter({ hasText: 'entr' }).waitFor();
  const rows = await page.locator('#audit-table tbody tr').evaluateAll((rs) =>
    rs.map((r) => Array.from(r.cells).map((c) => c.textContent)));
  const mine = rows.filter((c) => c[4] === NEW_USER && c[6] === 'ok').map((c) => c[3] + ': ' + c[7]);
  if (!mine.some((m) => m.startsWith('user.add'))) fail('no user.add in ' + JSON.stringify(mine));
  if (!mine.some((m) => /role agent -> supervisor/.test(m))) fail('no role change in ' + JSON.stringify(mine));
  if (!mine.some((m) => /disabled no -> yes/.test(m))) fail('no disable in ' + JSON.stringify(mine));
  log('audit entries for ' + NEW_USER + ': ' + mine.join(' / '));

  step = 'verify the chain';
  await page.getByRole('button', { name: 'Verify chain' }).click();
  await page.locator('#audit-verify-result').filter({ hasText: 'Chain intact' }).waitFor();
  log(await page.locator('#audit-verify-result').textContent());
  await shot('admin-audit.png');

  step = 'the page fits 1366 px';
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 1366) fail('page is ' + wide + ' px wide');
  log('no horizontal scroll at 1366x768 (' + wide + ' px)');

  step = 'log out, log in as the auditor';
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.locator('#login-view').waitFor({ state: 'visible' });
  await login(AUDITOR);
  await page.locator('#nav-admin').click();
  await page.locator('#admin-view').waitFor({ state: 'visible' });
  await page.locator('#rules-table tbody tr').first().waitFor();
  const atabs = await page.getByRole('tab').allTextContents();
  if (atabs.join('|') !== 'Rules|Audit log') fail('auditor tabs: ' + atabs.join('|'));
  if (await page.getByRole('tab', { name: 'Users' }).count()) fail('auditor sees a Users tab');
  await page.goto(URL_ + '/#/admin/users');
  await page.locator('#rules-table').waitFor({ state: 'visible' });
  if (await page.locator('#admin-panel-users').isVisible()) fail('auditor sees the users panel via #/admin/users');
  await page.getByRole('tab', { name: 'Audit log' }).click();
  await page.locator('#audit-status').filter({ hasText: 'entr' }).waitFor();
  log('auditor: tabs ' + atabs.join(', ') + '; no Users tab, #/admin/users shows the rules');
  await shot('admin-auditor.png');

  step = "the auditor's own tokens";
  await page.locator('#nav-account').click();
  const arow = page.locator('#tokens-table tbody tr').filter({ hasText: 'ui-auditor' });
  await arow.locator('td').nth(2).filter({ hasText: 'revoked by ' + ADMIN }).waitFor();
  log('auditor: Account lists the token the admin revoked');

  step = 'the auditor changes their password';
  const pw = page.locator('#password-change');
  await pw.getByLabel('Current password').fill('not my password');
  await pw.getByLabel('New password').fill(PASSWORD + ' new');
  await pw.getByRole('button', { name: 'Change password' }).click();
  await page.locator('#error').filter({ hasText: 'Error 403' }).waitFor();
  await pw.getByLabel('Current password').fill(PASSWORD);
  await pw.getByLabel('New password').fill(PASSWORD + ' new');
  await pw.getByRole('button', { name: 'Change password' }).click();
  await page.locator('#account-status').filter({ hasText: 'Password changed' }).waitFor();
  // this session stays signed in: the next request still works
  await page.locator('#nav-calls').click();
  await page.locator('#search-view').waitFor({ state: 'visible' });
  if (await page.locator('#login-view').isVisible()) fail('signed out by one\'s own password change');
  log('auditor: a wrong current password is refused, the right one changes it; still signed in');

  if (consoleErrors.length) fail('console errors: ' + consoleErrors.join(' | '));
  console.log('PASS: %d steps in %s s', steps, ((Date.now() - t0) / 1000).toFixed(2));
} catch (e) {
  rc = 1;
  console.error(`FAIL at "${step}": ${e.message.split('\n')[0]}`);
  if (consoleErrors.length) console.error('console errors: ' + consoleErrors.join(' | '));
  if (page) {
    const p = path.join(OUT, 'admin-failure.png');
    try { await page.screenshot({ path: p, fullPage: true }); console.error('screenshot: ' + p); } catch {}
  }
} finally {
  await browser.close();
}
process.exit(rc);
