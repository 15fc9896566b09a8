// listen_reason_test.mjs - [api] listen_reason = required in Chromium
// headless (playwright-core): a supervisor opens a call; pressing Play asks
// why (a prompt) before any audio request; cancelling plays nothing and
// requests nothing; a reason given plays, and the audio request carries it;
// a second Play of the same call in this session does not ask again.
// Exit 0 when every step passed, 1 with the failed step's message.
//
// Environment: UI_URL, UI_USER, UI_PASSWORD, UI_CALL, UI_REASON, CHROMIUM.
// Run by tests/integration/test_listen_reason.py.
import { chromium } from 'playwright-core';

const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
const URL_ = env('UI_URL', '');
if (!URL_) {
  console.error('UI_URL is not set (tests/integration/test_listen_reason.py passes it)');
  process.exit(2);
}
const CALL = env('UI_CALL', '1');
const REASON = env('UI_REASON', 'QA review');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const t0 = Date.now();
let step = 'start';
const log = (m) => console.log('[%s s] %s', ((Date.now() - t0) / 1000).toFixed(2), m);
const fail = (m) => { throw new Error(m); };
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
let rc = 0;
try {
  const page = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
  page.setDefaultTimeout(20000);
  const audio = [];
  page.on('request', (r) => { if (r.url().includes('/audio')) audio.push(r.url()); });
  const prompts = [];
  let answer = null; // null: cancel
  page.on('dialog', async (d) => {
    prompts.push(d.message());
    if (answer === null) await d.dismiss(); else await d.accept(answer);
  });

  step = 'log in and open a call';
  await page.goto(URL_ + '/#/calls');
  await page.getByLabel('User name').fill(env('UI_USER', 'super1'));
  await page.locator('#login-password').fill(env('UI_PASSWORD', ''));
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#search-view').waitFor({ state: 'visible' });
  await page.goto(URL_ + '/#/call/' + CALL);
  await page.locator('#play').waitFor({ state: 'visible' });

  step = 'Play, then cancel the reason';
  await page.locator('#play').click();
  await page.waitForTimeout(500);
  if (prompts.length !== 1 || !/Why are you listening/.test(prompts[0])) fail('prompts: ' + prompts.join(' | '));
  if (audio.length) fail('audio requested without a reason: ' + audio.join(' '));
  if (await page.locator('#audio').getAttribute('src')) fail('a src without a reason');
  log('Play asks why; cancelled: no audio request');

  step = 'Play with a reason';
  answer = REASON;
  await page.locator('#play').click();
  await page.waitForFunction(() => { const a = document.getElementById('audio'); return a && !a.paused && a.currentTime > 0; });
  const want = 'reason=' + encodeURIComponent(REASON);
  if (!audio.length || !audio.every((u) => u.includes(want))) fail('audio requests: ' + audio.join(' '));
  log('with a reason it plays; ' + audio.length + ' audio request(s), each with ' + want);

  step = 'Play again: not asked again';
  await page.locator('#play').click(); // pause
  await page.locator('#play').click(); // play
  await page.waitForTimeout(300);
  if (prompts.length !== 2) fail('asked again: ' + prompts.length + ' prompts');
  log('the same call in this session: not asked again');
} catch (e) {
  rc = 1;
  console.error(`FAIL at "${step}": ${e.message.split('\n')[0]}`);
} finally {
  await browser.close();
}
process.exit(rc);
