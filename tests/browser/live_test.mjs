// live_test.mjs - the web UI's live page in Chromium headless (playwright-core):
// log in, open "Live" from the navigation by keyboard, see ES_WANT_CALLS
// calls in progress with their parties and codec, and their packet counts
// grow between two refreshes; a screenshot goes to ES_SHOTS/live.png.
// Exit 0 when every step passed, 1 with the failed step's message.
//
// Environment: ES_URL, ES_USER, ES_PASSWORD, ES_CHROMIUM, ES_WANT_CALLS, ES_SHOTS.
import { chromium } from 'playwright-core';
import path from 'node:path';
import fs from 'node:fs';

const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
// No default address: the test that starts earshot picks a free port and
// passes it (a fixed port may be anyone's).
const URL_ = env('ES_URL', '');
if (!URL_) {
  console.error('live page: ES_URL is not set (tests/integration/test_active.py passes it)');
  process.exit(1);
}
const WANT = +env('ES_WANT_CALLS', '1');
const OUT = env('ES_SHOTS', '.');
fs.mkdirSync(OUT, { recursive: true });
const t0 = Date.now();
const log = (m) => console.log('[%s s] live page: %s', ((Date.now() - t0) / 1000).toFixed(2), m);
let step = 'start';
const browser = await chromium.launch({ executablePath: env('ES_CHROMIUM', '/usr/bin/chromium'),
  headless: true, args: ['--no-sandbox'] });
let rc = 0;
const errors = [];
try {
  const page = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
  page.setDefaultTimeout(20000);
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 401/.test(m.text())) errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));

  step = 'log in';
  await page.goto(URL_);
  await page.getByLabel('User name').fill(env('ES_USER', 'adm'));
  await page.getByLabel('Password').fill(env('ES_PASSWORD', ''));
  await page.getByLabel('Password').press('Enter');
  await page.locator('#search-view').waitFor({ state: 'visible' });

  step = 'open Live by keyboard';
  await page.locator('#nav-live').focus();
  await page.keyboard.press('Enter');
  await page.locator('#live-view').waitFor({ state: 'visible' });
  if (!(await page.evaluate(() => document.activeElement && document.activeElement.id === 'live-title')))
    throw new Error('the live page heading does not get the focus');

  step = `see ${WANT} calls in progress`;
  await page.waitForFunction((n) => document.querySelectorAll('#live-calls tbody tr').length === n, WANT);
  const read = () => page.$$eval('#live-calls tbody tr', (rows) => rows.map((tr) =>
    ({ id: tr.dataset.callId, cells: [...tr.cells].map((td) => td.textContent) })));
  const a = await read();
  for (const r of a) {
    // Started, Caller, Callee, State, Duration, Recording, Source, Codec, Packets, Lost, Jitter
    if (!r.cells[1].includes('sipp') || !r.cells[2].includes('service') || r.cells[7] !== 'PCMA' ||
        r.cells[6] !== 'live')
      throw new Error('row: ' + JSON.stringify(r));
  }
  const status = await page.locator('#live-status').textContent();
  if (!status.includes(WANT + ' call')) throw new Error('status line: ' + status);
  log(status);

  step = 'packet counts grow';
  await page.waitForTimeout(2600);
  const b = await read();
  const before = Object.fromEntries(a.map((r) => [r.id, +r.cells[8]]));
  for (const r of b) {
    if (!(r.id in before) || !(+r.cells[8] > before[r.id]))
      throw new Error(`call ${r.id}: packets ${before[r.id]} -> ${r.cells[8]}`);
  }
  log('packets ' + Object.values(before).join(',') + ' -> ' + b.map((r) => r.cells[8]).join(','));
  const shot = path.join(OUT, 'live.png');
  await page.screenshot({ path: shot, fullPage: true });
  console.log('screenshot: ' + shot);

  step = 'leave the page: refreshing stops';
  await page.locator('#nav-calls').click();
  await page.locator('#search-view').waitFor({ state: 'visible' });
  let polls = 0;
  page.on('request', (r) => { if (r.url().endsWith('/api/active')) polls++; });
  await page.waitForTimeout(2500);
  if (polls) throw new Error(polls + ' requests to /api/active after leaving the page');
  if (errors.length) throw new Error('console errors: ' + errors.join(' | '));
  log('ok');
} catch (e) {
  console.error(`FAILED at "${step}": ${e.message}`);
  rc = 1;
} finally {
  await browser.close();
}
process.exit(rc);
