// transcript_test.mjs - transcripts in the web UI (web/transcript.js,
// web/search.js), Chromium headless (playwright-core), driven by
// tests/integration/test_transcript_ui.py (transcripts from the whisper
// protocol stand-in).  At 1366 px as a supervisor: the search by words said
// lists both calls with snippets and hit times; a hit opens the call (no
// audio before Play) and Play starts at the hit; the panel shows both
// parties, the card number masked, the word at the playhead highlighted;
// a click on a word seeks there; keyword markers sit on the waveform at
// their times, the missing required list is named, the sentiment line is
// drawn with a text alternative.  At 390 px as an agent: only the agent's
// own calls and hits, another's transcript refused, nothing wider than the
// screen.  Exit 0 when every step passed.
//
// Environment: UI_URL, UI_PASSWORD, UI_CALL, UI_CALLS, UI_OWN, UI_OUT, CHROMIUM.
import { chromium } from 'playwright-core';
import path from 'node:path';
import fs from 'node:fs';

const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
const URL_ = env('UI_URL', '');
if (!URL_) {
  console.error('UI_URL is not set (tests/integration/test_transcript_ui.py passes it)');
  process.exit(2);
}
const OUT = env('UI_OUT', '.');
const CALL = +env('UI_CALL', '0');
const CALLS = JSON.parse(env('UI_CALLS', '[]'));
const OWN = JSON.parse(env('UI_OWN', '[]'));
fs.mkdirSync(OUT, { recursive: true });
const fail = (m) => { throw new Error(m); };
const browser = await chromium.launch({
  executablePath: env('CHROMIUM', '/usr/bin/chromium'), headless: true,
  args: ['--autoplay-policy=no-user-gesture-required', '--mute-audio', '--no-sandbox'],
});
let page, rc = 0, step = 'start';
const errors = [];

async function login(width, user) {
  const ctx = await browser.newContext({ viewport: { width, height: 900 } });
  const p = await ctx.newPage();
  p.setDefaultTimeout(20000);
  p.on('console', (m) => {
    if (m.type() === 'error' && !/status of (401|403|404)/.test(m.text())) errors.push(m.text());
  });
  p.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  await p.goto(URL_ + '/');
  await p.getByLabel('User name').fill(user);
  await p.getByLabel('Password').fill(env('UI_PASSWORD', ''));
  await p.getByRole('button', { name: 'Log in' }).click();
  await p.locator('#search-view').waitFor({ state: 'visible' });
  return p;
}

// The search form: words said, then Search; the rows and hit rows shown.
async function searchWords(p, text) {
  await p.locator('#f-text').fill(text);
  await p.locator('#search-submit').click();
  await p.waitForFunction(() => /call|No calls/.test(document.getElementById('search-status').textContent));
  return p.evaluate(() => ({
    hash: location.hash,
    ids: [...document.querySelectorAll('#results tbody tr[data-id]')].map((r) => +r.dataset.id),
    hits: [...document.querySelectorAll('#results tr.trx-search-hits')].map((r) => ({
      marks: [...r.querySelectorAll('mark')].map((m) => m.textContent),
      links: [...r.querySelectorAll('a.trx-hit-at')].map((a) => a.getAttribute('href')),
      text: r.textContent,
    })),
  }));
}

try {
  if (OWN.length >= CALLS.length) fail('the agent would own every call: ' + OWN + ' of ' + CALLS);
  page = await login(1366, 'sup1');

  step = 'search by words said (supervisor)';
  const s = await searchWords(page, 'refund');
  if (!/text=refund/.test(s.hash)) fail('the filter is not in the URL: ' + s.hash);
  if (JSON.stringify([...s.ids].sort((a, b) => a - b)) !== JSON.stringify(CALLS)) fail('calls ' + s.ids);
  if (s.hits.length !== CALLS.length || !s.hits.every((h) => h.marks.includes('refund') && h.links.length))
    fail('hit rows: ' + JSON.stringify(s.hits));
  console.log('supervisor: %d calls, hits %j', s.ids.length, s.hits.map((h) => h.links));
  await page.screenshot({ path: path.join(OUT, 'search-1366.png'), fullPage: true });

  step = 'a hit opens the call without its audio';
  // call A's caller says "refund" at 1.8 s (the stand-in's script)
  const link = page.locator('a.trx-hit-at[href^="#/call/' + CALL + '?t="]').first();
  const href = await link.getAttribute('href');
  const hitT = +href.split('t=')[1];
  if (Math.abs(hitT - 1.8) > 0.05) fail('hit time ' + href);
  await link.click();
  await page.locator('#trx-body .trx-w').first().waitFor({ state: 'visible' });
  const before = await page.evaluate(() => ({ src: document.getElementById('audio').getAttribute('src'),
    status: document.getElementById('trx-status').textContent }));
  if (before.src) fail('the audio was fetched before Play: ' + before.src);
  if (!/Play starts at 0:01/.test(before.status)) fail('status: ' + before.status);

  step = 'the panel: both parties, masked number';
  const panel = await page.evaluate(() => ({
    turns: [...document.querySelectorAll('#trx-body .trx-turn')].map((t) => [t.className, t.querySelector('.trx-who').textContent,
      t.querySelector('.trx-text').textContent.trim()]),
    masked: [...document.querySelectorAll('#trx-body .trx-masked')].map((w) => w.textContent),
    text: document.getElementById('trx-body').textContent,
  }));
  const parties = new Set(panel.turns.map((t) => t[0].replace('trx-turn trx-', '')));
  if (!parties.has('caller') || !parties.has('callee')) fail('turns: ' + JSON.stringify(panel.turns));
  if (!/^Caller 0:00$/.test(panel.turns[0][1]) || !panel.turns[0][2].startsWith('i want a refund'))
    fail('first turn: ' + JSON.stringify(panel.turns[0]));
  if (!/this call is recorded/.test(panel.text)) fail('the callee\'s words: ' + panel.text);
  if (panel.masked.length !== 16 || !panel.masked.every((w) => /^#+$/.test(w)) || /\b(four|five|double)\b/.test(panel.text))
    fail('masked: ' + JSON.stringify(panel.masked));
  console.log('panel: %d turns, %d masked words', panel.turns.length, panel.masked.length);

  step = 'keyword markers, missing list, sentiment line';
  const sp = await page.evaluate(() => state.call.speech);
  const marks = await page.evaluate(() => [...document.querySelectorAll('#timeline #trx-kw-layer .trx-kw')]
    .map((m) => [+m.dataset.offset, parseFloat(m.style.left), m.getAttribute('aria-label')]));
  const dur = await page.evaluate(() => state.call.recording.duration_s);
  if (marks.length !== sp.keywords.length || !marks.length) fail('markers ' + JSON.stringify(marks) + ' hits ' + JSON.stringify(sp.keywords));
  sp.keywords.forEach((k, i) => {
    if (Math.abs(marks[i][1] - 100 * k.start_ms / 1000 / dur) > 0.5) fail('marker ' + i + ' at ' + marks[i][1] + '%');
  });
  if (!marks.some((m) => /disclosure/.test(m[2])) || !marks.some((m) => /complaint/.test(m[2]))) fail('marker labels ' + JSON.stringify(marks));
  const missing = await page.locator('#trx-missing').textContent();
  if (!/competitor/.test(missing)) fail('missing list: ' + missing);
  const sent = await page.evaluate(() => ({
    lines: [...document.querySelectorAll('#trx-sentiment polyline')].map((l) => [l.dataset.party, l.getAttribute('points').split(' ').length]),
    cap: document.querySelector('#trx-sentiment figcaption').textContent,
    rows: document.querySelectorAll('#trx-sentiment details tbody tr').length,
  }));
  const nutt = sp.sentiment.utterances.filter((u) => u.score !== null).length;
  if (!sent.lines.some((l) => l[0] === 'caller') || !/Sentiment/.test(sent.cap) || sent.rows !== nutt)
    fail('sentiment: ' + JSON.stringify(sent) + ' utterances ' + nutt);
  const callerY = await page.evaluate(() => document.querySelector('#trx-sentiment polyline[data-party="caller"]')
    .getAttribute('points').split(' ').map((p) => +p.split(',')[1]));
  if (!callerY.some((y) => y > 24)) fail('the caller\'s negative utterances are not below the middle: ' + callerY);
  console.log('%d keyword markers, missing "%s", sentiment %j', marks.length, missing, sent);

  step = 'Play starts at the hit';
  await page.locator('#play').click();
  await page.waitForFunction((t) => {
    const a = document.getElementById('audio');
    // playing for real (its play() settled): a pause now interrupts nothing
    return a.readyState >= 1 && !a.paused && a.currentTime >= t + 0.1;
  }, hitT);
  const t0 = await page.evaluate(() => { const a = document.getElementById('audio'); a.pause(); return a.currentTime; });
  if (t0 < hitT || t0 > hitT + 2) fail('played from ' + t0 + ', want ' + hitT);
  const played = await page.evaluate(() => performance.getEntriesByType('resource')
    .filter((e) => /\/audio/.test(e.name)).map((e) => e.name));
  if (!played.length || played.some((u) => /[?&]t=/.test(u))) fail('audio requests: ' + played);
  console.log('Play started at the hit: %s s', t0.toFixed(2));

  step = 'a click on a word seeks; the word at the playhead is highlighted';
  const word = page.locator('#trx-body .trx-w', { hasText: 'recorded' });
  const ws = +(await word.getAttribute('data-s'));
  await word.click();
  await page.waitForFunction((t) => Math.abs(document.getElementById('audio').currentTime - t) < 0.02, ws / 1000);
  // the highlight moves with the player's seeked event (not before it)
  await page.waitForFunction(() => document.querySelector('#trx-body .trx-now')?.textContent === 'recorded')
    .catch(() => {});
  const now = await page.evaluate(() => {
    const n = document.querySelector('#trx-body .trx-now');
    return [n.textContent, +n.dataset.s, +n.dataset.e, document.getElementById('audio').currentTime, n.getAttribute('aria-current')];
  });
  if (now[0] !== 'recorded' || now[4] !== 'true') fail('highlighted after the click: ' + now);
  // follows playback: play on, the highlight moves to the word being said
  await page.evaluate(() => document.getElementById('audio').play().catch(() => {}));
  await page.waitForFunction(() => document.querySelector('#trx-body .trx-now')?.textContent === 'i', null, { timeout: 10000 });
  const follow = await page.evaluate(() => {
    const a = document.getElementById('audio');
    a.pause();
    transcriptProgress();
    const n = document.querySelector('#trx-body .trx-now');
    return n ? [n.textContent, +n.dataset.s, +n.dataset.e, a.currentTime * 1000] : [null, 0, 0, a.currentTime * 1000];
  });
  if (follow[0] !== null && !(follow[1] <= follow[3] && follow[3] < follow[2])) fail('highlight not at the playhead: ' + follow);
  console.log('clicked "recorded" (%d ms): highlighted; playing on highlighted %j', ws, follow);

  step = 'a keyword marker seeks';
  const km = page.locator('#trx-kw-layer .trx-kw').first();
  const koff = +(await km.getAttribute('data-offset'));
  await km.click();
  await page.waitForFunction((t) => Math.abs(document.getElementById('audio').currentTime - t) < 0.02, koff);
  await page.screenshot({ path: path.join(OUT, 'call-1366.png'), fullPage: true });
  const box = await page.evaluate(() => { const e = document.getElementById('error'); return e.hidden ? '' : e.textContent; });
  if (box) fail('error shown: ' + box);

  step = 'agent at 390 px: own calls only';
  const agent = await login(390, 'agent1');
  page = agent;
  const sa = await searchWords(agent, 'refund');
  if (JSON.stringify([...sa.ids].sort((a, b) => a - b)) !== JSON.stringify(OWN)) fail('agent calls ' + sa.ids + ', own ' + OWN);
  if (sa.hits.length !== OWN.length || sa.hits.some((h) => !OWN.some((id) => h.links[0].startsWith('#/call/' + id + '?'))))
    fail('agent hits ' + JSON.stringify(sa.hits));
  const wide = await agent.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 390) fail('the search page is ' + wide + ' px wide at 390');
  await agent.screenshot({ path: path.join(OUT, 'search-390.png'), fullPage: true });
  const other = CALLS.find((id) => !OWN.includes(id));
  const st = await agent.evaluate(async (id) => (await fetch('/api/calls/' + id + '/transcript')).status, other);
  if (st !== 403 && st !== 404) fail('another\'s transcript: ' + st);
  await agent.locator('a.trx-hit-at').first().click();
  await agent.locator('#trx-body .trx-w').first().waitFor({ state: 'visible' });
  const w390 = await agent.evaluate(() => document.documentElement.scrollWidth);
  if (w390 > 390) fail('the call page is ' + w390 + ' px wide at 390');
  await agent.screenshot({ path: path.join(OUT, 'call-390.png'), fullPage: true });
  console.log('agent: calls %j, another\'s transcript %d', sa.ids, st);
  if (errors.length) fail('console errors: ' + errors.join(' | '));
} catch (e) {
  rc = 1;
  console.error('FAILED at step "%s": %s', step, e.message);
  if (page) await page.screenshot({ path: path.join(OUT, 'transcript-failed.png'), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
process.exit(rc);
