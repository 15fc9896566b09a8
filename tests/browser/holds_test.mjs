// holds_test.mjs - the Holds page in Chromium headless (playwright-core):
// an admin searches for a party, opens Holds, places a hold by call id and
// one by the current search's filters, opens each, releases the first with
// a reason; an agent sees no Holds link (and the page's API refuses them).
// Exit 0 when every step passed, 1 with the failed step's message.
//
// Environment: UI_URL (required), UI_ADMIN, UI_AGENT, UI_PASSWORD (of
// both), UI_CALL (a call id), UI_NUMBER (a party number of UI_SEARCH_CALL),
// UI_SEARCH_CALL, UI_OUT (screenshot folder), CHROMIUM.
// Run by tests/integration/test_holds_ui.py.
import { chromium } from 'playwright-core';
import path from 'node:path';
import fs from 'node:fs';

const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
const URL_ = env('UI_URL', '');
if (!URL_) {
  console.error('UI_URL is not set (tests/integration/test_holds_ui.py passes it)');
  process.exit(2);
}
const ADMIN = env('UI_ADMIN', 'admin1');
const AGENT = env('UI_AGENT', 'agent1');
const PASSWORD = env('UI_PASSWORD', '');
const CALL = env('UI_CALL', '1');
const NUMBER = env('UI_NUMBER', '');
const SEARCH_CALL = env('UI_SEARCH_CALL', '');
const OUT = env('UI_OUT', '.');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
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

try {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  page = await ctx.newPage();
  page.setDefaultTimeout(T);
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401/.test(m.text())) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push('pageerror: ' + e.message));

  step = 'log in as admin and search a party';
  await login(ADMIN);
  await page.locator('#f-party').fill(NUMBER);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('#results tbody tr').first().waitFor();
  log('admin searched for party ' + NUMBER);

  step = 'open Holds';
  await page.locator('#nav-holds').click();
  await page.locator('#holds-view').waitFor({ state: 'visible' });
  log('Holds page open');

  step = 'place a hold by call id';
  const add = page.locator('#hold-add');
  await add.getByLabel('Name').fill('case-ui');
  await add.getByLabel('Reason').fill('subpoena from the browser');
  await add.getByLabel('Call ids').fill(CALL);
  await add.getByRole('button', { name: 'Place hold' }).click();
  await page.locator('#hold-detail h3').filter({ hasText: 'Hold case-ui' }).waitFor();
  await page.locator('#hold-calls-list').getByText('call ' + CALL, { exact: true }).waitFor();
  await page.locator('#holds-table tbody tr').filter({ hasText: 'case-ui' }).filter({ hasText: 'active' }).waitFor();
  log('hold case-ui placed on call ' + CALL);

  step = "place a hold by the search's filters";
  await add.getByLabel('Name').fill('case-search');
  await add.getByLabel('Reason').fill('all calls of the party');
  await add.getByLabel("or the current search's filters").check();
  await add.getByRole('button', { name: 'Place hold' }).click();
  await page.locator('#hold-detail h3').filter({ hasText: 'Hold case-search' }).waitFor();
  await page.locator('#hold-calls-list').getByText('call ' + SEARCH_CALL, { exact: true }).waitFor();
  log('hold case-search placed by the search filters, holds call ' + SEARCH_CALL);

  step = 'release case-ui with a reason';
  await page.locator('#holds-table').getByRole('button', { name: 'case-ui' }).click();
  await page.locator('#hold-detail h3').filter({ hasText: 'Hold case-ui' }).waitFor();
  await page.locator('#hold-release').getByLabel('Release reason').fill('case settled');
  await page.locator('#hold-release').getByRole('button', { name: 'Release' }).click();
  await page.locator('#hold-detail h3').filter({ hasText: 'Hold case-ui (released)' }).waitFor();
  await page.locator('#holds-table tbody tr').filter({ hasText: 'case-ui' }).filter({ hasText: 'released' }).waitFor();
  await page.screenshot({ path: path.join(OUT, 'holds.png'), fullPage: true });
  log('case-ui released');

  step = 'an agent sees no Holds link';
  await page.locator('#logout').click();
  await page.locator('#login-view').waitFor({ state: 'visible' });
  await login(AGENT);
  if (await page.locator('#nav-holds').isVisible()) fail('the agent sees the Holds link');
  log('agent: no Holds link');

  if (consoleErrors.length) fail('console errors: ' + consoleErrors.join(' | '));
  console.log('PASS: %d steps in %s s', steps, ((Date.now() - t0) / 1000).toFixed(2));
} catch (e) {
  rc = 1;
  console.error(`FAIL at "${step}": ${e.message.split('\n')[0]}`);
  if (consoleErrors.length) console.error('console errors: ' + consoleErrors.join(' | '));
  if (page) {
    const p = path.join(OUT, 'holds-failure.png');
    try { await page.screenshot({ path: p, fullPage: true }); console.error('screenshot: ' + p); } catch {}
  }
} finally {
  await browser.close();
}
process.exit(rc);
