// listen_test.mjs - listen-in on the web UI's Live page in Chromium headless
// (playwright-core): log in as ES_USER, open Live, click the row of call
// ES_CALL_ID, or the first call listed (not its button: the whole row opens the panel), press Listen,
// and let the page play the call until it ends.  The page's tap
// (window.earshotListenTap, live.js) records what it decoded and scheduled
// on its Web Audio context; the samples and the wall time at which each
// piece ends playing go to ES_OUT as JSON, for test_listen.py to correlate with the
// sipp sources and to measure the delay.  A screenshot goes to
// ES_SHOTS/listen.png.  Exit 0 when every step passed.
//
// Environment: ES_URL, ES_USER, ES_PASSWORD, ES_CHROMIUM, ES_CALL_ID, ES_OUT, ES_SHOTS.
import { chromium } from 'playwright-core';
import path from 'node:path';
import fs from 'node:fs';

const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
const URL_ = env('ES_URL', '');
if (!URL_) {
  console.error('listen-in: ES_URL is not set (tests/integration/test_listen.py passes it)');
  process.exit(1);
}
const CALL = env('ES_CALL_ID', '');
const OUT = env('ES_SHOTS', '.');
fs.mkdirSync(OUT, { recursive: true });
const t0 = Date.now();
const log = (m) => console.log('[%s s] listen-in: %s', ((Date.now() - t0) / 1000).toFixed(2), m);
let step = 'start';
const browser = await chromium.launch({ executablePath: env('ES_CHROMIUM', '/usr/bin/chromium'),
  headless: true, args: ['--autoplay-policy=no-user-gesture-required', '--mute-audio', '--no-sandbox'] });
let rc = 0;
const errors = [];
let page = null;
try {
  page = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
  page.setDefaultTimeout(20000);
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 401/.test(m.text())) errors.push(m.text()); });

  step = 'log in';
  await page.goto(URL_);
  await page.getByLabel('User name').fill(env('ES_USER', 'sup'));
  await page.getByLabel('Password').fill(env('ES_PASSWORD', ''));
  await page.getByLabel('Password').press('Enter');
  await page.locator('#search-view').waitFor({ state: 'visible' });

  step = 'open the Live page';
  await page.locator('#nav-live').click();
  await page.locator('#live-calls').waitFor({ state: 'visible' });
  console.log('READY'); // test_listen.py places the call now

  step = 'the order of the rows and the health';
  await page.waitForFunction(() => document.querySelectorAll('#live-calls tbody tr').length === 2,
    null, { timeout: 90000 });
  const ids = () => page.$$eval('#live-calls tbody tr', (rows) => rows.map((tr) => tr.dataset.callId));
  const order = { newest: await ids() };
  await page.getByLabel('Order of the calls').selectOption('longest');
  order.longest = await ids();
  await page.getByLabel('Order of the calls').selectOption('newest');
  await page.locator('#live-health').waitFor({ state: 'visible' });
  const health = await page.locator('#live-health').textContent();
  log('rows ' + JSON.stringify(order) + '; health: ' + health);

  step = 'open the call from the Live page';
  // started before the call (Chromium may take many seconds to come up on a
  // loaded machine): the first call to appear, or ES_CALL_ID's
  const tr = page.locator(CALL ? `#live-calls tbody tr[data-call-id="${CALL.replace(/"/g, '\\"')}"]`
    : '#live-calls tbody tr[data-call-id]').first();
  await tr.waitFor({ state: 'visible', timeout: 90000 });
  const callId = await tr.getAttribute('data-call-id');
  log('the call ' + callId + ' is listed');
  await tr.locator('td').nth(7).click(); // the codec cell: the row, not its button
  await page.locator('#live-call').waitFor({ state: 'visible' });
  if ((await tr.getAttribute('aria-selected')) !== 'true') throw new Error('the clicked row is not selected');

  step = 'listen';
  await page.evaluate(() => { window.earshotListenTap = {}; });
  await page.getByRole('button', { name: 'Listen', exact: true }).click();
  await page.waitForFunction(() => window.earshotListenTap.rate > 0, null, { timeout: 10000 });
  log('the stream started: ' + JSON.stringify(await page.evaluate(() => ({
    rate: window.earshotListenTap.rate, startUs: window.earshotListenTap.startUs }))));
  const btn = await page.locator('#live-listen').textContent();
  if (btn !== 'Stop listening' && !(await page.evaluate(() => window.earshotListenTap.ended)))
    throw new Error('the button says ' + btn + ' while listening');
  await page.screenshot({ path: path.join(OUT, 'listen.png') });

  step = 'play until the call ends';
  await page.waitForFunction(() => window.earshotListenTap.ended, null, { timeout: 60000 });
  const got = await page.evaluate(() => {
    const t = window.earshotListenTap;
    const pcm = (x) => x.map((v) => Math.round(v * 32768));
    return { callId: null, rate: t.rate, startUs: t.startUs, ctxRate: t.ctxRate, ended: t.ended,
      left: pcm(t.left), right: pcm(t.right), played: t.played, ctxTime: t.ctxTime, ctxState: t.ctxState };
  });
  got.callId = callId;
  got.order = order;
  got.health = health;
  log(`played ${(got.left.length / got.rate).toFixed(1)} s in ${got.played.length} pieces; ended: ${got.ended}`);
  // the audio context ran: its clock went on while the pieces came
  if (got.ctxState !== 'running' || !(got.ctxTime > got.left.length / got.rate - 3))
    throw new Error(`the audio context did not run: ${got.ctxState}, at ${got.ctxTime} s`);
  if (got.ended !== 'The call ended.') throw new Error('the stream ended with: ' + got.ended);
  const status = await page.locator('#live-listen-status').textContent();
  if (status !== 'The call ended.') throw new Error('the status says: ' + status);
  fs.writeFileSync(env('ES_OUT', 'listen.json'), JSON.stringify(got));
  if (errors.length) throw new Error('page errors: ' + errors.join('; '));
} catch (e) {
  console.error('FAIL at %s: %s%s', step, e.message, errors.length ? '\npage errors: ' + errors.join('; ') : '');
  rc = 1;
  if (page) await page.screenshot({ path: path.join(OUT, 'listen-failed.png') }).catch(() => {});
} finally {
  await browser.close();
}
process.exit(rc);
