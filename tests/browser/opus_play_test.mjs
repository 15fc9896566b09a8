// opus_play_test.mjs - Chromium plays an Ogg/Opus recording as earshot
// writes it (src/media/oggopus.c) from the real API: log in, then an
// <audio> on /api/calls/ID/audio must load (duration = the recording's,
// within 50 ms: the end trim is honoured) and play (currentTime advances).
// Exit 0 when every step passed.
//
// Environment: UI_URL, UI_USER, UI_PASSWORD, UI_CALL, UI_SECONDS, CHROMIUM.
import { chromium } from 'playwright-core';

const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
const URL_ = env('UI_URL', '');
if (!URL_) {
  console.error('UI_URL is not set (tests/integration/test_opus_browser.py passes it)');
  process.exit(2);
}
const fail = (m) => { throw new Error(m); };
const browser = await chromium.launch({
  executablePath: env('CHROMIUM', '/usr/bin/chromium'), headless: true,
  args: ['--autoplay-policy=no-user-gesture-required', '--mute-audio', '--no-sandbox'],
});
let rc = 0, step = 'start';
try {
  const page = await (await browser.newContext()).newPage();
  page.setDefaultTimeout(20000);
  step = 'log in';
  await page.goto(URL_ + '/');
  await page.getByLabel('User name').fill(env('UI_USER', ''));
  await page.getByLabel('Password').fill(env('UI_PASSWORD', ''));
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#search-view').waitFor({ state: 'visible' });

  step = 'play';
  const got = await page.evaluate(async (call) => {
    const a = document.createElement('audio');
    a.src = '/api/calls/' + call + '/audio';
    document.body.appendChild(a);
    await new Promise((ok, ko) => {
      a.onloadedmetadata = ok;
      a.onerror = () => ko(new Error('media error ' + (a.error && a.error.code)));
    });
    // Ogg's duration comes from the last page's granule position once the
    // browser has read it; wait until it is a finite number.
    for (let i = 0; i < 100 && !Number.isFinite(a.duration); i++)
      await new Promise((r) => setTimeout(r, 50));
    const duration = a.duration;
    await a.play();
    const t0 = a.currentTime;
    // Up to 15 s for 0.5 s of playback: the machine may be loaded.
    for (let i = 0; i < 150 && a.currentTime < t0 + 0.5 && !a.ended; i++)
      await new Promise((r) => setTimeout(r, 100));
    return { duration, t0, t1: a.currentTime, err: a.error && a.error.code };
  }, env('UI_CALL', ''));
  console.log('opus in Chromium: duration %s s, currentTime %s -> %s', got.duration, got.t0, got.t1);
  const want = +env('UI_SECONDS', '0');
  if (!(Math.abs(got.duration - want) <= 0.05)) fail('duration ' + got.duration + ', expected ' + want);
  if (!(got.t1 > got.t0 + 0.3)) fail('currentTime did not advance: ' + got.t0 + ' -> ' + got.t1);
  if (got.err) fail('media error ' + got.err);
} catch (e) {
  console.error('FAIL at %s: %s', step, e.message);
  rc = 1;
} finally {
  await browser.close();
}
process.exit(rc);
