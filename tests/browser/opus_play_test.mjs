// opus_play_test.mjs - Chromium plays an Ogg/Opus recording as earshot
// writes it (src/media/oggopus.c) from the real API: log in, then an
// <audio> on /api/calls/ID/audio must load (duration = the recording's,
// within 50 ms: the end trim is honoured) and play (currentTime advances);
// Web Audio decodes the same file to two channels of the same length, each
// with sound and unlike the other (one party each: a stereo recording is
// two uncoupled streams, RFC 7845 mapping family 1).
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

  step = 'decode';
  const dec = await page.evaluate(async (call) => {
    const buf = await (await fetch('/api/calls/' + call + '/audio')).arrayBuffer();
    const ab = await new AudioContext().decodeAudioData(buf);
    const ch = [];
    for (let c = 0; c < ab.numberOfChannels; c++) ch.push(ab.getChannelData(c));
    const dot = (x, y) => { let s = 0; for (let i = 0; i < x.length; i++) s += x[i] * y[i]; return s; };
    const rms = ch.map((x) => Math.sqrt(dot(x, x) / x.length));
    const corr = ch.length === 2 ? dot(ch[0], ch[1]) / Math.sqrt(dot(ch[0], ch[0]) * dot(ch[1], ch[1])) : 1;
    return { channels: ab.numberOfChannels, seconds: ab.duration, rms, corr };
  }, env('UI_CALL', ''));
  console.log('Web Audio: %d channels, %s s, rms %s, correlation between them %s',
    dec.channels, dec.seconds.toFixed(4), dec.rms.map((v) => v.toFixed(4)).join('/'), dec.corr.toFixed(3));
  if (dec.channels !== 2) fail('decoded ' + dec.channels + ' channels');
  if (!(Math.abs(dec.seconds - want) <= 0.05)) fail('decoded ' + dec.seconds + ' s, expected ' + want);
  if (!(dec.rms[0] > 0.003 && dec.rms[1] > 0.003)) fail('a silent channel: ' + dec.rms);
  if (!(Math.abs(dec.corr) < 0.5)) fail('the channels are alike: correlation ' + dec.corr);
} catch (e) {
  console.error('FAIL at %s: %s', step, e.message);
  rc = 1;
} finally {
  await browser.close();
}
process.exit(rc);
