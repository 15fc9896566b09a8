// ui_fixes_test.mjs - the web UI's defects of issue #18, in Chromium headless
// (playwright-core), for each role (admin, supervisor, agent, auditor without
// the listen grant) at 1366 px and 390 px:
//  - every element with the hidden attribute is not displayed; the role's
//    controls only (no Verify/Export for an agent, no player for the auditor);
//    a disabled control looks disabled and has a title saying why;
//  - no /audio or /peaks request before Play; both after Play; one player
//    (no native controls), preload="none"; space/k play and pause;
//  - the call page is empty while a call loads and under a 404; "More"
//    fetches its page once when pressed twice;
//  - a number typed with spaces and '+' finds the call;
//  - times in the browser's zone (America/New_York here), named in the
//    headings, UTC in the title; the filters in the URL survive a reload;
//  - no sideways scrolling at 390 px on any view, tables as cards;
//  - no raw codes (no_answer...), a title per view, the skip link, focus on
//    the first field after login, focus ring/borders/waveform >= 3:1.
// Exit 0 when every step passed, 1 with the failed step's message.
//
// Environment: UI_URL, UI_PASSWORD, UI_OPENED (a call every role opens but
// never plays), UI_PLAYED (the call the supervisor plays), UI_OTHER (a call
// that is not the agent's), UI_DIGITS (the digits of UI_OPENED's caller,
// the agent's number), UI_AGENT_CALLS, UI_CALLS (counts), UI_OUT, CHROMIUM.
import { chromium } from 'playwright-core';
import path from 'node:path';
import fs from 'node:fs';

const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
const URL_ = env('UI_URL', '');
if (!URL_) {
  console.error('UI_URL is not set (tests/integration/test_ui_fixes.py passes it)');
  process.exit(2);
}
const PASSWORD = env('UI_PASSWORD', '');
const OPENED = env('UI_OPENED', '');
const PLAYED = env('UI_PLAYED', '');
const OTHER = env('UI_OTHER', '');
const DIGITS = env('UI_DIGITS', '');
const AGENT_CALLS = +env('UI_AGENT_CALLS', '0');
const CALLS = +env('UI_CALLS', '0');
const OUT = env('UI_OUT', '.');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const TZ = 'America/New_York';
const T = 15000;

fs.mkdirSync(OUT, { recursive: true });
const t0 = Date.now();
let step = 'start';
let steps = 0;
const log = (m) => { steps++; console.log('[%s s] %s', ((Date.now() - t0) / 1000).toFixed(2), m); };
const fail = (m) => { throw new Error(m); };

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--autoplay-policy=no-user-gesture-required', '--mute-audio', '--no-sandbox'],
});
let page;
let rc = 0;
const consoleErrors = [];
let media = []; // /audio and /peaks requests seen

// WCAG 2.1 relative luminance and contrast of two CSS colours (rgb()/rgba()/#hex)
function rgb(c) {
  let m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(c);
  if (m) return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
  m = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)/.exec(c);
  if (!m) fail('not a colour: ' + c);
  return [+m[1], +m[2], +m[3]];
}
function lum(c) {
  const [r, g, b] = rgb(c).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function contrast(a, b) {
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}
function atLeast3(what, fg, bg) {
  const k = contrast(fg, bg);
  if (k < 3) fail(what + ' contrast ' + k.toFixed(2) + ':1 (' + fg + ' on ' + bg + ') < 3:1');
  return k;
}

// Every [hidden] element is really not displayed (the CSS must not beat it).
async function hiddenIsHidden(where) {
  const shown = await page.evaluate(() => [...document.querySelectorAll('[hidden]')]
    .filter((e) => getComputedStyle(e).display !== 'none').map((e) => e.id || e.tagName + '.' + e.className));
  if (shown.length) fail(where + ': hidden but displayed: ' + shown.join(', '));
}

async function noSideways(where) {
  const [sw, iw] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  if (sw > iw) fail(where + ': scrolls sideways: scrollWidth ' + sw + ' > innerWidth ' + iw);
}

// Outcomes, flags, end reasons and sources in words, not codes (no_answer).
async function rawCodes(where) {
  const t = await page.evaluate(() => {
    const out = [...document.querySelectorAll('#results tbody td:nth-child(5), #results .flag')].map((e) => e.textContent);
    const dl = document.getElementById('call-meta');
    for (const dt of dl.querySelectorAll('dt')) {
      if (/^(Outcome|End reason|Source|Flags)$/.test(dt.textContent)) out.push(dt.nextElementSibling.textContent);
    }
    return out.join(' | ');
  });
  const m = /\b[a-z]+_[a-z_]+\b/.exec(t);
  if (m) fail(where + ' shows the code "' + m[0] + '": ' + t);
}

async function login(user) {
  await page.goto(URL_ + '/#/calls');
  await page.locator('#login-view').waitFor({ state: 'visible' });
  await hiddenIsHidden('login page');
  if ((await page.title()) !== 'Log in – earshot') fail('login page title: ' + (await page.title()));
  await page.locator('#login-name').fill(user);
  await page.locator('#login-password').fill(PASSWORD);
  await page.locator('#login-password').press('Enter');
  await page.locator('#search-view').waitFor({ state: 'visible' });
  await page.locator('#search-status').filter({ hasText: /call|No calls/ }).waitFor();
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
  if (focused !== 'f-party') fail('after login the focus is on "' + focused + '", not the first field');
}

async function logout() {
  await page.locator('#logout').click();
  await page.locator('#login-view').waitFor({ state: 'visible' });
}

async function openCall(id) {
  await page.evaluate((h) => { location.hash = h; }, '#/call/' + id);
  await page.locator('#call-title').filter({ hasText: 'Call ' + id + ':' }).filter({ hasNotText: 'loading' }).waitFor();
}

// One role at one width.
async function role(ctx, user, kind, width) {
  page = await ctx.newPage();
  page.setDefaultTimeout(T);
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of (401|403|404)/.test(m.text())) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push('pageerror: ' + e.message));
  media = [];
  page.on('request', (r) => {
    const p = new URL(r.url()).pathname;
    if (/\/api\/calls\/\d+\/(audio|peaks)$/.test(p)) media.push(p);
  });
  const tag = user + '@' + width;

  step = tag + ': log in';
  await login(user);
  await hiddenIsHidden(tag + ' search');
  if (!(await page.title()).startsWith('Calls')) fail('search page title: ' + (await page.title()));
  await rawCodes('the results');
  const admin = await page.locator('#nav-admin').isVisible();
  const holds = await page.locator('#nav-holds').isVisible();
  const wantAdmin = kind === 'admin' || kind === 'auditor';
  if (admin !== wantAdmin || holds !== wantAdmin) fail('Admin/Holds links shown: ' + admin + '/' + holds);
  if (width < 500) {
    await noSideways(tag + ' search');
    const d = await page.locator('#results tbody tr').first().evaluate((e) => getComputedStyle(e).display);
    if (d !== 'block') fail('results rows are not cards at ' + width + ' px: display ' + d);
  }
  log(tag + ': logged in, focus on the first field, title, role links, ' + (width < 500 ? 'cards, no sideways scroll' : 'no codes'));

  step = tag + ': times in the browser zone';
  const head = await page.locator('#results thead th').first().innerText();
  if (!head.includes(TZ)) fail('the Start heading does not name the zone: ' + head);
  const tm = page.locator('#results tbody time').first();
  const [iso, shown, title] = [await tm.getAttribute('datetime'), await tm.innerText(), await tm.getAttribute('title')];
  const local = new Date(iso).toLocaleString('sv-SE', { timeZone: TZ }) + (/\.\d+Z$/.exec(iso) || [''])[0].slice(0, -1);
  if (shown !== local) fail('start shown as ' + shown + ', in ' + TZ + ' it is ' + local);
  if (!title || !title.includes('UTC') || !title.includes(iso.slice(11, 19))) fail('no UTC in the title: ' + title);
  log(tag + ': ' + iso + ' shown as ' + shown + ' (' + TZ + '), title "' + title + '"');

  step = tag + ': open a call, nothing fetched';
  await openCall(OPENED);
  await hiddenIsHidden(tag + ' call');
  if (!(await page.title()).startsWith('Call ' + OPENED)) fail('call page title: ' + (await page.title()));
  await rawCodes('the call page');
  const au = await page.evaluate(() => {
    const a = document.getElementById('audio');
    return { preload: a.preload, controls: a.controls, players: document.querySelectorAll('audio[controls], video').length };
  });
  if (au.preload !== 'none' || au.controls || au.players) fail('player: ' + JSON.stringify(au) + ' (want preload none, one player)');
  await page.waitForTimeout(800);
  if (media.length) fail('fetched before Play: ' + media.join(', '));
  const verify = await page.locator('#verify').isVisible();
  const exp = await page.locator('#export').isVisible();
  const player = await page.locator('#player-body').isVisible();
  const tagForm = await page.locator('#tag-form').isVisible();
  const want = {
    admin: [true, true, true, true], supervisor: [true, true, true, true],
    agent: [false, false, true, true], auditor: [true, false, false, false],
  }[kind];
  const got = [verify, exp, player, tagForm];
  if (got.join() !== want.join()) fail('verify/export/player/tag shown ' + got.join() + ', want ' + want.join());
  if (kind === 'auditor' && !(await page.locator('#no-listen').isVisible())) fail('the auditor is not told why there is no player');
  if (width < 500) {
    await noSideways(tag + ' call');
    for (const v of ['#/live', '#/account', ...(wantAdmin ? ['#/admin', '#/holds'] : [])]) {
      await page.evaluate((h) => { location.hash = h; }, v);
      await page.waitForTimeout(400);
      await hiddenIsHidden(tag + ' ' + v);
      await noSideways(tag + ' ' + v);
    }
    log(tag + ': no sideways scrolling on the call, live, account' + (wantAdmin ? ', admin, holds' : '') + ' views');
  }
  log(tag + ': call ' + OPENED + ' opened, no audio or peaks request, controls ' + got.join('/'));

  if (kind === 'agent') {
    step = tag + ': another call is not shown under the error';
    await openCall(OPENED);
    await page.evaluate((h) => { location.hash = h; }, '#/call/' + OTHER);
    await page.locator('#error').filter({ hasText: /40[34]/ }).waitFor();
    const meta = await page.locator('#call-meta').innerText();
    const t = await page.locator('#call-title').innerText();
    if (meta.trim() || t.includes('Call ' + OPENED)) fail('call ' + OPENED + ' still shown under the error: ' + t);
    await hiddenIsHidden(tag + ' error');
    if (await page.locator('#tag-form').isVisible()) fail('the tag form is shown under the error');
    log(tag + ': call ' + OTHER + ' refused, nothing of call ' + OPENED + ' on screen');

    step = tag + ': the agent searches its number';
    await page.goto(URL_ + '/#/calls');
    await page.locator('#search-status').filter({ hasText: /call/ }).waitFor();
    const n = await page.locator('#results tbody tr').count();
    if (n !== Math.min(25, AGENT_CALLS)) fail('the agent sees ' + n + ' calls, not its ' + AGENT_CALLS);
  }

  if (kind === 'supervisor') {
    step = tag + ': number search with spaces';
    await page.goto(URL_ + '/#/calls');
    await page.locator('#search-status').filter({ hasText: /call/ }).waitFor();
    const spaced = '+' + DIGITS.replace(/(\d{3})(?=\d)/g, '$1 ');
    await page.locator('#f-party').fill(spaced);
    await page.locator('#search-submit').click();
    await page.locator('#search-status').filter({ hasText: /call|No calls/ }).waitFor();
    await page.waitForFunction(() => !/Searching/.test(document.getElementById('search-status').textContent));
    const ids = await page.locator('#results tbody tr').evaluateAll((rs) => rs.map((r) => r.dataset.id));
    if (!ids.includes(OPENED)) fail('"' + spaced + '" does not find call ' + OPENED + ': ' + ids.join(','));
    log(tag + ': "' + spaced + '" finds call ' + OPENED + ' (' + ids.length + ' calls)');

    step = tag + ': filters in the URL survive a reload';
    await page.locator('#f-from').fill('2000-01-01T00:00:00');
    await page.locator('#search-submit').click();
    await page.waitForFunction(() => /from=/.test(location.hash));
    const h = await page.evaluate(() => location.hash);
    const hq = new URLSearchParams(h.split('?')[1] || '');
    if (hq.get('from') !== '2000-01-01T05:00:00Z' || hq.get('party') !== spaced) fail('hash ' + h);
    await page.reload();
    await page.locator('#search-status').filter({ hasText: /call/ }).waitFor();
    const from = await page.locator('#f-from').inputValue();
    const party = await page.locator('#f-party').inputValue();
    if (!from.startsWith('2000-01-01T00:00') || party !== spaced) fail('after reload: from ' + from + ', party ' + party);
    const ids2 = await page.locator('#results tbody tr').evaluateAll((rs) => rs.map((r) => r.dataset.id));
    if (ids2.join() !== ids.join()) fail('after reload other calls: ' + ids2.join() + ' vs ' + ids.join());
    log(tag + ': ' + h + ' reloaded with the same filters and calls');

    step = tag + ': "More" loads its page once';
    await page.goto(URL_ + '/#/calls');
    await page.locator('#more').waitFor({ state: 'visible' });
    let more = 0;
    await page.route(/\/api\/calls\?.*cursor=/, async (r) => { more++; await new Promise((f) => setTimeout(f, 700)); await r.continue(); });
    await page.locator('#more').click();
    await page.locator('#more').click({ force: true, timeout: 2000 }).catch(() => {});
    await page.locator('#more').waitFor({ state: 'hidden' });
    const rows = await page.locator('#results tbody tr').count();
    await page.unroute(/\/api\/calls\?.*cursor=/);
    if (more !== 1 || rows !== CALLS) fail('More pressed twice: ' + more + ' requests, ' + rows + ' rows of ' + CALLS);
    log(tag + ': More pressed twice: 1 request, ' + rows + ' rows');

    step = tag + ': the page is empty while a call loads';
    await openCall(OPENED);
    await page.route(new RegExp('/api/calls/' + PLAYED + '$'), async (r) => { await new Promise((f) => setTimeout(f, 800)); await r.continue(); });
    await page.evaluate((h) => { location.hash = h; }, '#/call/' + PLAYED);
    await page.waitForTimeout(200);
    const loading = await page.evaluate(() => ({ meta: document.getElementById('call-meta').textContent,
      title: document.getElementById('call-title').textContent, tags: !document.getElementById('annotations').hidden }));
    if (loading.meta || loading.title.includes('Call ' + OPENED) || loading.tags) fail('while loading: ' + JSON.stringify(loading));
    await openCall(PLAYED);
    await page.unroute(new RegExp('/api/calls/' + PLAYED + '$'));
    log(tag + ': while call ' + PLAYED + ' loads nothing of ' + OPENED + ' is shown, no tag form');

    step = tag + ': a 404 shows no call';
    await page.evaluate(() => { location.hash = '#/call/999999'; });
    await page.locator('#error').filter({ hasText: '404' }).waitFor();
    if ((await page.locator('#call-meta').innerText()).trim() || await page.locator('#player').isVisible()) fail('call data under the 404');
    log(tag + ': call 999999: 404, nothing else shown');

    step = tag + ': Play fetches audio and peaks; space/k by keyboard';
    await openCall(PLAYED);
    media = [];
    await page.locator('#call-title').focus();
    await page.keyboard.press('k');
    await page.waitForFunction(() => !document.getElementById('audio').paused);
    await page.waitForFunction(() => document.getElementById('audio').currentTime > 0.2);
    await page.locator('#call-title').focus();
    await page.keyboard.press(' ');
    await page.waitForFunction(() => document.getElementById('audio').paused);
    if (!media.some((p) => p.endsWith('/audio')) || !media.some((p) => p.endsWith('/peaks'))) fail('after Play: ' + media.join(', '));
    await page.locator('#tag-input').focus();
    await page.keyboard.press('k');
    if (!(await page.evaluate(() => document.getElementById('audio').paused))) fail('k in a field played');
    log(tag + ': k played, space paused (' + media.length + ' media requests), k in a field typed');

    step = tag + ': contrast';
    await page.locator('#timeline.has-waveform').waitFor();
    const c = await page.evaluate(() => {
      const cs = (id) => getComputedStyle(document.getElementById(id));
      return { inputBorder: cs('tag-input').borderTopColor, bg: getComputedStyle(document.body).backgroundColor,
        timelineBorder: cs('timeline').borderTopColor, timelineBg: cs('timeline').backgroundColor,
        buttonBorder: cs('speed').borderTopColor, wave: WAVE.colors };
    });
    const bg = c.bg === 'rgba(0, 0, 0, 0)' ? 'rgb(255, 255, 255)' : c.bg;
    atLeast3('input border', c.inputBorder, bg);
    atLeast3('select border', c.buttonBorder, bg);
    atLeast3('timeline border', c.timelineBorder, bg);
    for (const who of ['caller', 'callee']) for (const col of c.wave[who]) atLeast3('waveform ' + who, col, c.timelineBg);
    await page.locator('#tag-input').focus();
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Tab');
    const ring = await page.evaluate(() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineColor]; });
    if (ring[0] === 'none') fail('no focus ring');
    const k = atLeast3('focus ring', ring[1], bg);
    log(tag + ': focus ring ' + ring[1] + ' ' + k.toFixed(2) + ':1, borders and waveform >= 3:1');

    step = tag + ': a disabled control says why';
    await page.evaluate(() => { document.getElementById('redact-form').hidden = false; });
    const dis = await page.locator('#redact-go').evaluate((b) => ({ d: b.disabled, t: b.title, cur: getComputedStyle(b).cursor }));
    if (!dis.d || !dis.t || dis.cur !== 'not-allowed') fail('disabled Redact: ' + JSON.stringify(dis));
    log(tag + ': disabled Redact… has title "' + dis.t + '"');

    step = tag + ': the skip link';
    // a user arriving on the page: a new tab of the same session opened at
    // the search, nothing focused yet (on the page used so far, the
    // starting point of Tab stays where the previous view had it)
    const fresh = await page.context().newPage();
    await fresh.goto(URL_ + '/#/calls');
    await fresh.locator('#search-status').filter({ hasText: /call/ }).waitFor();
    await fresh.keyboard.press('Tab');
    const first = await fresh.evaluate(() => document.activeElement.id);
    if (first !== 'skip') {
      const what = await fresh.evaluate(() => document.activeElement.outerHTML.slice(0, 160));
      fail('the first Tab stop is "' + first + '" (' + what + '), not the skip link');
    }
    if (!(await fresh.locator('#skip').isVisible())) fail('the skip link is not visible when focused');
    await fresh.keyboard.press('Enter');
    const after = await fresh.evaluate(() => document.activeElement.closest('main') !== null);
    if (!after || !(await fresh.evaluate(() => location.hash.startsWith('#/calls')))) fail('the skip link did not move into the content');
    await fresh.close();
    log(tag + ': skip link first, moves the focus into the page');
  }

  await page.screenshot({ path: path.join(OUT, user + '-' + width + '.png'), fullPage: true });
  step = tag + ': log out';
  await logout();
  await hiddenIsHidden(tag + ' logged out');
  await page.close();
}

try {
  for (const width of [1366, 390]) {
    const ctx = await browser.newContext({ viewport: { width, height: 900 }, timezoneId: TZ, locale: 'en-US' });
    for (const [user, kind] of [['admin1', 'admin'], ['super1', 'supervisor'], ['agent1', 'agent'], ['aud1', 'auditor']]) {
      await role(ctx, user, kind, width);
    }
    await ctx.close();
  }
  if (consoleErrors.length) fail('console errors: ' + consoleErrors.join(' | '));
  console.log('PASS: %d steps in %s s', steps, ((Date.now() - t0) / 1000).toFixed(2));
} catch (e) {
  rc = 1;
  console.error(`FAIL at "${step}": ${e.message.split('\n')[0]}`);
  if (consoleErrors.length) console.error('console errors: ' + consoleErrors.join(' | '));
  if (page) {
    const p = path.join(OUT, 'ui-fixes-failure.png');
    try { await page.screenshot({ path: p, fullPage: true }); console.error('screenshot: ' + p); } catch {}
  }
} finally {
  await browser.close();
}
process.exit(rc);
