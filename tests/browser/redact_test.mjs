// redact_test.mjs - redaction in the web UI, Chromium headless
// (playwright-core): log in as a supervisor, open the call, drag across the
// waveform from RED_FROM to RED_TO seconds, choose the caller's channel,
// give a reason, confirm; the page reloads the call, which now shows the
// flag "redacted", and its player fetches the redacted audio (200/206).
// Screenshots go to UI_OUT.  Exit 0 when every step passed, 1 otherwise.
//
// Environment: UI_URL, UI_USER, UI_PASSWORD, UI_CALL (the call's id),
// RED_FROM, RED_TO (seconds), UI_OUT, CHROMIUM.
import { chromium } from 'playwright-core';
import path from 'node:path';
import fs from 'node:fs';

const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
const URL_ = env('UI_URL', '');
if (!URL_) {
  console.error('UI_URL is not set (tests/integration/test_ui_redact.py passes it)');
  process.exit(2);
}
const USER = env('UI_USER', 'super1');
const PASSWORD = env('UI_PASSWORD', '');
const CALL = env('UI_CALL', '');
const FROM = +env('RED_FROM', '1');
const TO = +env('RED_TO', '2');
const OUT = env('UI_OUT', '.');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const T = 20000;

fs.mkdirSync(OUT, { recursive: true });
const t0 = Date.now();
let step = 'start';
const log = (m) => console.log('[%s s] %s', ((Date.now() - t0) / 1000).toFixed(2), m);
const fail = (m) => { throw new Error(m); };

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--autoplay-policy=no-user-gesture-required', '--mute-audio', '--no-sandbox'],
});
let page;
let rc = 0;
const consoleErrors = [];
const redactPosts = [];
try {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  page = await ctx.newPage();
  page.setDefaultTimeout(T);
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401/.test(m.text())) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push('pageerror: ' + e.message));
  page.on('response', (r) => {
    if (/\/redact$/.test(new URL(r.url()).pathname)) redactPosts.push(r.status());
  });

  step = 'log in';
  await page.goto(URL_ + '/');
  await page.getByLabel('User name').fill(USER);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#search-view').waitFor({ state: 'visible' });

  step = 'open the call';
  await page.goto(URL_ + '/#/call/' + CALL);
  await page.locator('#call-view').waitFor({ state: 'visible' });
  await page.locator('#redact-form').waitFor({ state: 'visible' });
  // the waveform's peaks are fetched on the first Play (issue #18)
  await page.locator('#play').click();
  await page.locator('#play').filter({ hasText: 'Pause' }).waitFor();
  await page.locator('#play').click();
  await page.waitForFunction(() => typeof WAVE !== 'undefined' && WAVE.peaks);
  log('call ' + CALL + ' open, waveform drawn, redaction form shown');

  // the audio's ETag (the plaintext's SHA-256) names the version served
  const etag = () => page.evaluate(async (id) => {
    const r = await fetch('/api/calls/' + id + '/audio', { headers: { Range: 'bytes=0-1' } });
    return r.status + ' ' + r.headers.get('etag');
  }, CALL);
  const before = await etag();

  step = 'select the span by dragging on the waveform';
  const dur = await page.evaluate(() => recDuration());
  const box = await page.locator('#timeline').boundingBox();
  const y = box.y + box.height / 2;
  const xa = box.x + (FROM / dur) * box.width;
  const xb = box.x + (TO / dur) * box.width;
  await page.mouse.move(xa, y);
  await page.mouse.down();
  await page.mouse.move((xa + xb) / 2, y, { steps: 5 });
  await page.mouse.move(xb, y, { steps: 5 });
  await page.mouse.up();
  const span = await page.locator('#redact-span').textContent();
  const sel = await page.evaluate(() => [RED.from, RED.to]);
  if (Math.abs(sel[0] - FROM) > 0.1 || Math.abs(sel[1] - TO) > 0.1) fail('span selected ' + sel);
  if (!(await page.locator('#redact-sel').isVisible())) fail('the selection is not drawn');
  const played = await page.evaluate(() => document.getElementById('audio').currentTime);
  if (played > 0.01) fail('the drag seeked the player to ' + played);
  log('selected ' + span);
  await page.screenshot({ path: path.join(OUT, 'redact-selected.png'), fullPage: true });

  step = 'channel, reason, confirm';
  await page.getByLabel('Channel').selectOption('caller');
  await page.getByLabel('Reason').fill('card number read out');
  await page.getByRole('button', { name: 'Redact…' }).click();
  await page.locator('#redact-confirm').waitFor({ state: 'visible' });
  log('asked: ' + (await page.locator('#redact-question').textContent()));
  await page.getByRole('button', { name: 'Confirm redaction' }).click();
  await page.locator('#redact-status').filter({ hasText: 'Redaction 1 done' }).waitFor();
  if (redactPosts.join() !== '201') fail('POST .../redact answered ' + redactPosts);
  const meta = await page.locator('#call-meta').textContent();
  if (!meta.includes('redacted')) fail('the call page does not show the redacted recording: ' + meta);
  log('redacted: ' + (await page.locator('#redact-status').textContent()));

  step = 'the player plays the redacted version';
  await page.locator('#play').click(); // the audio is fetched on Play (issue #18)
  await page.waitForFunction(() => document.getElementById('audio').currentTime > 0.2);
  const after = await etag();
  if (!/^20[06] /.test(after) || after === before) fail('audio before ' + before + ', after ' + after);
  log('audio before ' + before + ', after ' + after);
  await page.screenshot({ path: path.join(OUT, 'redact-done.png'), fullPage: true });
  if (consoleErrors.length) fail('console errors: ' + consoleErrors.join(' | '));
  log('all steps passed');
} catch (e) {
  rc = 1;
  console.error('FAILED at step "%s": %s', step, e.message);
  if (page) await page.screenshot({ path: path.join(OUT, 'redact-failed.png'), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
process.exit(rc);
