// bookmarks_test.mjs - bookmarks and clips in the web UI (issue #18),
// Chromium headless (playwright-core).  At 1366 px an agent opens
// #/call/ID?t=2.5: nothing of the audio is fetched before Play, and Play
// starts at 2.5 s; "Bookmark here" adds a bookmark (list and marker layer);
// a span set with "Start here"/"End here" becomes a clip whose link #/clip/N
// plays just the span (GET /api/clips/N/audio 200).  At 390 px the call page
// and the clip page have no sideways scrolling.  The role check: another
// agent and an auditor without listening rights opening #/clip/N get "no
// such clip" and no Play button, and the auditor sees no bookmark controls.
// Exit 0 when every step passed, 1 otherwise.
//
// Environment: UI_URL, UI_USER, UI_OTHER, UI_AUDITOR, UI_PASSWORD, UI_CALL,
// UI_OUT, CHROMIUM.
import { chromium } from 'playwright-core';
import path from 'node:path';
import fs from 'node:fs';

const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
const URL_ = env('UI_URL', '');
if (!URL_) {
  console.error('UI_URL is not set (tests/integration/test_ui_bookmarks.py passes it)');
  process.exit(2);
}
const USER = env('UI_USER', 'red1');
const OTHER = env('UI_OTHER', 'blue1');
const AUDITOR = env('UI_AUDITOR', 'aud1');
const PASSWORD = env('UI_PASSWORD', '');
const CALL = env('UI_CALL', '1');
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

async function session(user, width) {
  const ctx = await browser.newContext({ viewport: { width, height: 900 } });
  const p = await ctx.newPage();
  p.setDefaultTimeout(T);
  p.on('console', (m) => {
    if (m.type() === 'error' && !/status of (401|403|404)/.test(m.text())) consoleErrors.push(m.text());
  });
  p.on('pageerror', (e) => consoleErrors.push('pageerror: ' + e.message));
  await p.goto(URL_ + '/');
  await p.getByLabel('User name').fill(user);
  await p.getByLabel('Password').fill(PASSWORD);
  await p.getByRole('button', { name: 'Log in' }).click();
  await p.locator('#search-view').waitFor({ state: 'visible' });
  return p;
}

const noSideways = (p) => p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

try {
  step = 'log in at 1366 px';
  page = await session(USER, 1366);
  const audioReqs = [];
  page.on('request', (r) => {
    const u = new URL(r.url()).pathname;
    if (/\/audio$/.test(u)) audioReqs.push(u);
  });

  step = 'open the call at ?t=2.5';
  await page.goto(URL_ + '/#/call/' + CALL + '?t=2.5');
  await page.locator('#bookmarks').waitFor({ state: 'visible' });
  await page.locator('#bm-none').waitFor({ state: 'visible' });
  await page.waitForTimeout(300);
  if (audioReqs.length) fail('audio fetched before Play: ' + audioReqs.join(' '));
  await page.locator('#play').click();
  await page.waitForFunction(() => $('audio').currentTime >= 2.5);
  await page.locator('#play').click(); // pause
  const at = await page.evaluate(() => $('audio').currentTime);
  if (at < 2.5 || at > 4) fail('Play did not start at 2.5 s: ' + at);
  log('?t=2.5: no audio before Play, Play started at ' + at.toFixed(2) + ' s');

  step = 'bookmark here';
  await page.getByLabel(/Comment at/).fill('checked the number');
  await page.getByRole('button', { name: 'Bookmark here' }).click();
  await page.locator('#bm-list li').filter({ hasText: 'checked the number' }).waitFor();
  const item = await page.locator('#bm-list li').first().innerText();
  if (!item.includes(USER) || !/0:0[2-4]/.test(item)) fail('the list item: ' + item);
  if (await page.locator('#bm-layer .bm-marker').count() !== 1) fail('no marker in the bookmark layer');
  log('bookmark listed (' + item.replace(/\s+/g, ' ') + ') with its marker');

  step = 'a click on the bookmark seeks';
  await page.evaluate(() => seek(0.2, false));
  await page.waitForFunction(() => $('audio').currentTime < 1);
  await page.locator('#bm-list .bm-time').first().click();
  await page.waitForFunction(() => $('audio').currentTime >= 2.4);
  await page.locator('#play').click();
  await page.locator('#play').filter({ hasText: 'Play' }).waitFor();

  step = 'make a clip';
  await page.evaluate(() => seek(1, false));
  await page.waitForFunction(() => Math.abs($('audio').currentTime - 1) < 0.05);
  await page.locator('#clip-from').click();
  await page.evaluate(() => seek(3, false));
  await page.waitForFunction(() => Math.abs($('audio').currentTime - 3) < 0.05);
  await page.locator('#clip-to').click();
  await page.locator('#clip-title').fill('the greeting');
  await page.locator('#clip-make').click();
  const link = page.locator('#clip-link');
  await link.waitFor();
  const href = await link.getAttribute('href');
  if (!/^#\/clip\/[0-9]+$/.test(href)) fail('clip link ' + href);
  await page.screenshot({ path: path.join(OUT, 'call-1366.png'), fullPage: true });

  step = 'play the clip';
  const clipAudio = page.waitForResponse((r) => /\/api\/clips\/[0-9]+\/audio$/.test(new URL(r.url()).pathname));
  await link.click();
  await page.locator('#clip-view').waitFor({ state: 'visible' });
  await page.locator('#clip-h').filter({ hasText: 'the greeting' }).waitFor();
  await page.locator('#clip-play').click();
  const resp = await clipAudio;
  if (resp.status() !== 200) fail('clip audio ' + resp.status());
  await page.waitForFunction(() => $('clip-audio').duration > 0 && $('clip-audio').currentTime > 0);
  const dur = await page.evaluate(() => $('clip-audio').duration);
  if (Math.abs(dur - 2) > 0.1) fail('the clip plays ' + dur + ' s, not the 2 s span');
  log(href + ' plays the span: ' + dur.toFixed(2) + ' s');
  const clipHash = href;

  step = '390 px';
  const narrow = await session(USER, 390);
  await narrow.goto(URL_ + '/#/call/' + CALL);
  await narrow.locator('#bm-list li').first().waitFor();
  if (!await noSideways(narrow)) fail('the call page scrolls sideways at 390 px');
  await narrow.screenshot({ path: path.join(OUT, 'call-390.png'), fullPage: true });
  await narrow.goto(URL_ + '/' + clipHash);
  await narrow.locator('#clip-play').waitFor({ state: 'visible' });
  if (!await noSideways(narrow)) fail('the clip page scrolls sideways at 390 px');
  log('390 px: call and clip pages without sideways scrolling');

  step = 'roles';
  for (const who of [OTHER, AUDITOR]) {
    const p = await session(who, 1366);
    await p.goto(URL_ + '/' + clipHash);
    await p.locator('#clip-about').filter({ hasText: 'No such clip' }).waitFor();
    if (await p.locator('#clip-play').isVisible()) fail(who + ' is offered Play');
    if (who === AUDITOR) {
      await p.goto(URL_ + '/#/call/' + CALL);
      await p.locator('#no-listen').waitFor({ state: 'visible' });
      if (await p.locator('#bookmarks').isVisible()) fail('bookmark controls shown to ' + who);
    }
    log(who + ': no clip, no controls');
  }
  if (consoleErrors.length) fail('console errors: ' + consoleErrors.join(' | '));
  log('all steps passed');
} catch (e) {
  rc = 1;
  console.error('FAIL at step "%s": %s', step, e.message);
  if (page) await page.screenshot({ path: path.join(OUT, 'failure.png'), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
process.exit(rc);
