// timeline_test.mjs - the call page's speaker timeline (web/timeline.js),
// Chromium headless (playwright-core): log in, open the call, find one bar
// per speech segment of each party placed at its time (within 1 % of the
// width), the summary line with the overtalk, and a click on a bar seeking
// the player to the segment's start.  Exit 0 when every step passed.
//
// Environment: UI_URL, UI_USER, UI_PASSWORD, UI_CALL, UI_OUT, CHROMIUM.
import { chromium } from 'playwright-core';
import path from 'node:path';
import fs from 'node:fs';

const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
const URL_ = env('UI_URL', '');
if (!URL_) {
  console.error('UI_URL is not set (tests/integration/test_talk_ui.py passes it)');
  process.exit(2);
}
const OUT = env('UI_OUT', '.');
const CALL = env('UI_CALL', '');
fs.mkdirSync(OUT, { recursive: true });
const fail = (m) => { throw new Error(m); };
const browser = await chromium.launch({
  executablePath: env('CHROMIUM', '/usr/bin/chromium'), headless: true,
  args: ['--autoplay-policy=no-user-gesture-required', '--mute-audio', '--no-sandbox'],
});
let page, rc = 0, step = 'start';
const errors = [];
try {
  page = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
  page.setDefaultTimeout(20000);
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401/.test(m.text())) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  step = 'log in';
  await page.goto(URL_ + '/');
  await page.getByLabel('User name').fill(env('UI_USER', ''));
  await page.getByLabel('Password').fill(env('UI_PASSWORD', ''));
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#search-view').waitFor({ state: 'visible' });

  step = 'open the call';
  await page.goto(URL_ + '/#/call/' + CALL);
  await page.locator('#talk-timeline svg').waitFor({ state: 'visible' });
  const talk = await page.evaluate(() => state.call.talk);
  step = 'bars';
  const bars = await page.evaluate(() => [...document.querySelectorAll('#talk-timeline rect[fill="#2f6fd6"], #talk-timeline rect[fill="#d9731a"]')]
    .map((r) => [r.getAttribute('fill'), +r.getAttribute('x')]));
  const want = [];
  for (const [p, color] of [['caller', '#2f6fd6'], ['callee', '#d9731a']]) {
    const s = talk[p].segments;
    for (let i = 0; i < s.length; i += 2) want.push([color, 1000 * s[i] / talk.duration_ms]);
  }
  if (bars.length !== want.length) fail('bars ' + bars.length + ', segments ' + want.length);
  bars.forEach((b, i) => {
    if (b[0] !== want[i][0] || Math.abs(b[1] - want[i][1]) > 10) fail('bar ' + i + ' ' + b + ' want ' + want[i]);
  });
  const cap = await page.locator('#talk-timeline figcaption').textContent();
  if (!/overtalk 1\.[4-6] s in 3/.test(cap)) fail('summary: ' + cap);
  console.log('timeline: %d bars, "%s"', bars.length, cap);

  step = 'click a bar seeks';
  // the player loads nothing before a Play or a seek (issue #18): the click
  // loads the audio, and the seek lands once its metadata is there
  const callee = await page.locator('#talk-timeline rect[fill="#d9731a"]').all();
  await callee[1].click();
  const target = talk.callee.segments[2] / 1000;
  await page.waitForFunction((t) => {
    const a = document.getElementById('audio');
    return a.readyState >= 1 && Math.abs(a.currentTime - t) <= 0.05;
  }, target, { timeout: 20000 }).catch(() => {});
  const at = await page.evaluate(() => document.getElementById('audio').currentTime);
  if (Math.abs(at - target) > 0.05) fail('seeked to ' + at + ', want ' + target);
  console.log('click on the callee\'s 2nd bar seeked to %s s', at.toFixed(2));
  await page.screenshot({ path: path.join(OUT, 'timeline.png'), fullPage: true });
  if (errors.length) fail('console errors: ' + errors.join(' | '));
} catch (e) {
  rc = 1;
  console.error('FAILED at step "%s": %s', step, e.message);
  if (page) await page.screenshot({ path: path.join(OUT, 'timeline-failed.png'), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
process.exit(rc);
