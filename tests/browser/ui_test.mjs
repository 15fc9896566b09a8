// ui_test.mjs - the web UI in Chromium headless (playwright-core): log in,
// search by a number, open the call, play it to its end at 4x (the Range
// requests must answer 200/206), see the DTMF markers, verify, add a tag
// (it survives a reload) and a note, export the evidence ZIP (a download
// starting "PK", saved as OUT/evidence.zip), log out.
// Screenshots go to OUT.  Exit 0 when every step passed, 1 with the failed
// step's message otherwise.
//
// Environment: UI_URL (required), UI_USER, UI_PASSWORD,
// UI_NUMBER (a number of the call to find), UI_CALL (its id),
// UI_DTMF ("1234#" digits expected, "" for none), UI_OUT (screenshot folder),
// CHROMIUM (default /usr/bin/chromium).
import { chromium } from 'playwright-core';
import path from 'node:path';
import fs from 'node:fs';

const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
const URL_ = env('UI_URL', '');
if (!URL_) {
  console.error('UI_URL is not set (tests/integration/test_ui.py passes it)');
  process.exit(2);
}
const USER = env('UI_USER', 'super1');
const PASSWORD = env('UI_PASSWORD', '');
const NUMBER = env('UI_NUMBER', '');
const CALL = env('UI_CALL', '');
const DTMF = env('UI_DTMF', '');
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
const audioResponses = [];
const consoleErrors = [];
try {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 }, acceptDownloads: true });
  page = await ctx.newPage();
  page.setDefaultTimeout(T);
  // 401s are expected: /api/me before logging in, the wrong password, /api/me after logout
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401/.test(m.text())) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push('pageerror: ' + e.message));
  page.on('response', (r) => {
    if (/\/api\/calls\/\d+\/audio$/.test(new URL(r.url()).pathname)) {
      audioResponses.push({ status: r.status(), range: r.request().headers()['range'] || null,
        contentRange: r.headers()['content-range'] || null });
    }
  });

  step = 'load the page';
  const first = await page.goto(URL_ + '/');
  if (first.status() !== 200) fail('GET / -> ' + first.status());
  const csp = first.headers()['content-security-policy'] || '';
  if (!csp.includes("script-src 'self'") || csp.includes('unsafe-inline')) fail('CSP: ' + csp);
  await page.locator('#login-view').waitFor({ state: 'visible' });
  log('login form shown');

  step = 'log in with a wrong password';
  await page.getByLabel('User name').fill(USER);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#error').filter({ hasText: '401' }).waitFor({ state: 'visible' });
  log('wrong password refused: ' + (await page.locator('#error').textContent()));

  step = 'log in';
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Password').press('Enter'); // keyboard submit
  await page.locator('#search-view').waitFor({ state: 'visible' });
  const who = await page.locator('#who-name').textContent();
  if (!who.includes(USER)) fail('logged-in user shown as ' + who);
  log('logged in as ' + who);

  step = 'order: newest first by default, oldest first when asked';
  const starts = () => page.$$eval('#results tbody tr', (rows) => rows.map((tr) => tr.cells[0].textContent));
  await page.waitForFunction(() => document.querySelectorAll('#results tbody tr').length > 1);
  const newest = await starts();
  if (newest.join('|') !== [...newest].sort().reverse().join('|')) fail('not newest first: ' + newest);
  await page.getByLabel('Order').selectOption('start');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForFunction((first) => {
    const r = document.querySelectorAll('#results tbody tr');
    return r.length > 1 && r[0].cells[0].textContent !== first;
  }, newest[0]);
  const oldest = await starts();
  if (oldest.join('|') !== [...oldest].sort().join('|')) fail('not oldest first: ' + oldest);
  log(`order: ${newest.length} rows newest first, then oldest first`);

  step = 'filter by a codec nobody used, then clear it';
  await page.getByLabel('Codec').fill('G729');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('#search-status').filter({ hasText: 'No calls match' }).waitFor();
  await page.getByLabel('Codec').fill('');
  log('codec filter: no G.729 call');

  step = 'search by number';
  await page.getByLabel('Party or number').fill(NUMBER);
  await page.getByRole('button', { name: 'Search' }).click();
  const rows = page.locator('#results tbody tr');
  await page.waitForFunction((n) => {
    const r = document.querySelectorAll('#results tbody tr');
    return r.length > 0 && [...r].every((tr) => tr.textContent.includes(n));
  }, NUMBER);
  const nrows = await rows.count();
  log(`search "${NUMBER}": ${nrows} row(s)`);
  const shot1 = path.join(OUT, 'search.png');
  await page.screenshot({ path: shot1, fullPage: true });
  console.log('screenshot: ' + shot1);

  step = 'open the call';
  const target = CALL ? page.locator(`#results tbody tr[data-id="${CALL}"]`) : rows.first();
  await target.locator('td').nth(1).click(); // a click on the row, not on the link
  await page.waitForURL(/#\/call\/\d+$/);
  await page.locator('#call-view').waitFor({ state: 'visible' });
  await page.locator('#messages tbody tr').first().waitFor();
  const title = await page.locator('#call-title').textContent();
  if (!title.includes(NUMBER)) fail('call page title: ' + title);
  const nmsg = await page.locator('#messages tbody tr').count();
  const nstreams = await page.locator('#streams tbody tr').count();
  log(`call page: "${title}", ${nstreams} stream(s), ${nmsg} SIP message(s)`);
  if (nmsg < 3) fail('too few SIP messages: ' + nmsg);

  step = 'DTMF markers';
  // drawn from the call's duration: the audio is fetched only on Play or a seek (issue #18)
  const markers = page.locator('#markers .marker.dtmf');
  if (DTMF) {
    await markers.first().waitFor();
    const digits = (await markers.allTextContents()).join('');
    if (digits !== DTMF) fail(`DTMF markers "${digits}", expected "${DTMF}"`);
    const evs = await page.locator('#events tbody tr').count();
    log(`DTMF markers: ${digits} (${evs} event rows)`);
    // clicking a marker seeks to its offset
    const off = +(await markers.nth(1).getAttribute('data-offset'));
    await markers.nth(1).click();
    await page.waitForFunction((o) => Math.abs(document.getElementById('audio').currentTime - o) < 0.05, off);
    log(`marker click seeked to ${off} s`);
  } else if (await markers.count()) {
    fail('DTMF markers where none were expected');
  }

  step = 'waveform';
  // the canvas behind the timeline is drawn from /peaks: some pixels in both halves
  await page.waitForFunction(() => {
    const cv = document.getElementById('waveform');
    if (!cv || !cv.width || !cv.height) return false;
    const g = cv.getContext('2d');
    const half = (y0, y1) => {
      const d = g.getImageData(0, y0, cv.width, y1 - y0).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    };
    const mid = Math.floor(cv.height / 2);
    // rows strictly above and below the middle line
    return half(0, mid - 1) > cv.width && half(mid + 2, cv.height) > cv.width;
  }, null, { timeout: 15000 });
  const wf = await page.evaluate(() => {
    const cv = document.getElementById('waveform');
    return { w: cv.width, h: cv.height, label: cv.getAttribute('aria-label') };
  });
  log(`waveform drawn: ${wf.w}x${wf.h} px, "${wf.label}"`);
  if (!/caller/.test(wf.label) || !/callee/.test(wf.label)) fail('waveform label: ' + wf.label);
  // keyboard: the timeline takes focus and the arrow keys seek 5 s
  await page.evaluate(() => { document.getElementById('audio').currentTime = 0; });
  await page.locator('#timeline').focus();
  const dur = await page.evaluate(() => document.getElementById('audio').duration);
  await page.keyboard.press('ArrowRight');
  const want = Math.min(5, dur);
  await page.waitForFunction((o) => Math.abs(document.getElementById('audio').currentTime - o) < 0.05, want);
  await page.keyboard.press('ArrowLeft');
  await page.waitForFunction(() => document.getElementById('audio').currentTime < 0.05);
  await page.keyboard.press('End');
  await page.waitForFunction((d) => document.getElementById('audio').currentTime > d - 0.1, dur);
  const vnow = await page.locator('#timeline').getAttribute('aria-valuenow');
  log(`keyboard seek on the timeline: -> ${want} s, back to 0, End -> ${dur.toFixed(2)} s (aria-valuenow ${vnow})`);
  if (+vnow !== Math.round(dur)) fail('timeline aria-valuenow ' + vnow);
  await page.evaluate(() => { document.getElementById('audio').currentTime = Math.min(2.5, document.getElementById('audio').duration / 2); });
  await page.waitForTimeout(100);
  const shotW = path.join(OUT, 'waveform.png');
  await page.locator('#player').screenshot({ path: shotW });
  console.log('screenshot: ' + shotW);

  step = 'play to the end at 4x';
  await page.getByLabel('Speed').selectOption('4');
  await page.evaluate(() => { document.getElementById('audio').currentTime = 0; });
  const playStart = Date.now();
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  await page.waitForFunction(() => document.getElementById('audio').ended, null, { timeout: 30000 });
  const st = await page.evaluate(() => {
    const a = document.getElementById('audio');
    return { t: a.currentTime, d: a.duration, rate: a.playbackRate };
  });
  log(`audio ended at ${st.t.toFixed(3)} s of ${st.d.toFixed(3)} s (rate ${st.rate}) in ${((Date.now() - playStart) / 1000).toFixed(2)} s`);
  if (st.rate !== 4) fail('playbackRate ' + st.rate);
  if (!audioResponses.length) fail('no audio responses seen');
  const bad = audioResponses.filter((r) => r.status !== 200 && r.status !== 206);
  if (bad.length) fail('audio responses not 200/206: ' + JSON.stringify(bad));
  log(`audio responses: ${audioResponses.map((r) => r.status + (r.range ? ' ' + r.range : '')).join(', ')}`);
  if (!audioResponses.some((r) => r.status === 206)) log('note: no 206 (the browser asked for no range)');
  const shot2 = path.join(OUT, 'call.png');
  await page.screenshot({ path: shot2, fullPage: true });
  console.log('screenshot: ' + shot2);

  step = 'mute/solo';
  await page.getByRole('button', { name: 'Solo caller' }).click();
  if ((await page.getByRole('button', { name: 'Solo caller' }).getAttribute('aria-pressed')) !== 'true') fail('solo not pressed');
  const gains = await page.locator('#mix').getAttribute('data-gains');
  if (gains !== '1,0') fail('solo caller: gains ' + gains + ', expected 1,0');
  await page.getByRole('button', { name: 'Solo caller' }).click();
  await page.getByRole('button', { name: 'Mute callee' }).click();
  const g2 = await page.locator('#mix').getAttribute('data-gains');
  if (g2 !== '1,0') fail('mute callee: gains ' + g2 + ', expected 1,0');
  log('solo caller / mute callee: gains (left, right) ' + gains + ' / ' + g2);

  step = 'verify';
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.locator('#verify-result').filter({ hasText: /^(ok|FAILED)/ }).waitFor();
  const v = await page.locator('#verify-result').textContent();
  if (!v.startsWith('ok')) fail('verify: ' + v);
  log('verify: ' + v);

  step = 'add a tag';
  const TAG = 'ui check ' + (Date.now() % 100000);
  await page.getByLabel('New tag').fill(TAG);
  await page.getByLabel('New tag').press('Enter'); // keyboard submit
  await page.locator('#tags li').filter({ hasText: TAG }).waitFor();
  log('tag added: ' + (await page.locator('#tags').textContent()));
  const shot3 = path.join(OUT, 'tagged.png');
  await page.screenshot({ path: shot3, fullPage: true });
  console.log('screenshot: ' + shot3);

  step = 'the tag survives a reload';
  await page.reload();
  await page.locator('#call-view').waitFor({ state: 'visible' });
  await page.locator('#tags li').filter({ hasText: TAG }).waitFor();
  log('tag still there after a reload');

  step = 'add a note';
  const NOTE = 'Checked by the browser test <b>as text</b>';
  await page.getByLabel('New note').fill(NOTE);
  await page.getByRole('button', { name: 'Add note' }).click();
  await page.locator('#notes li').filter({ hasText: NOTE }).waitFor();
  if (await page.locator('#notes b').count()) fail('a note was rendered as HTML');
  log('note added');

  step = 'remove a tag with the keyboard';
  await page.getByLabel('New tag').fill('to-remove');
  await page.getByLabel('New tag').press('Enter');
  const rm = page.getByRole('button', { name: 'Remove tag to-remove' });
  await rm.waitFor();
  await rm.focus();
  await page.keyboard.press('Enter');
  await page.locator('#tags li').filter({ hasText: 'to-remove' }).waitFor({ state: 'detached' });
  log('tag removed with the keyboard');

  step = 'export evidence';
  const exportLink = page.getByRole('link', { name: 'Export evidence' });
  await exportLink.waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), exportLink.click()]);
  const zipPath = path.join(OUT, 'evidence.zip');
  await download.saveAs(zipPath);
  const head = fs.readFileSync(zipPath).subarray(0, 2).toString('latin1');
  if (head !== 'PK') fail('the download does not start with PK: ' + JSON.stringify(head));
  log(`evidence downloaded: ${download.suggestedFilename()}, ${fs.statSync(zipPath).size} bytes`);
  if (!/^call-\d+-evidence\.zip$/.test(download.suggestedFilename())) fail('file name ' + download.suggestedFilename());
  console.log('evidence: ' + zipPath);

  step = 'log out';
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.locator('#login-view').waitFor({ state: 'visible' });
  const me = await page.evaluate(async () => (await fetch('/api/me')).status);
  if (me !== 401) fail('/api/me after logout: ' + me);
  log('logged out (/api/me -> 401)');

  if (consoleErrors.length) fail('console errors: ' + consoleErrors.join(' | '));
  console.log('PASS: %d steps in %s s', 14, ((Date.now() - t0) / 1000).toFixed(2));
} catch (e) {
  rc = 1;
  console.error(`FAIL at "${step}": ${e.message.split('\n')[0]}`);
  if (consoleErrors.length) console.error('console errors: ' + consoleErrors.join(' | '));
  if (page) {
    const shot = path.join(OUT, 'failure.png');
    try { await page.screenshot({ path: shot, fullPage: true }); console.error('screenshot: ' + shot); } catch {}
  }
} finally {
  await browser.close();
}
process.exit(rc);
