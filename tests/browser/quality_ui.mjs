// quality_ui.mjs - quality at a glance (web/search.js, web/quality.js,
// web/dashboard.js), Chromium headless (playwright-core), at 1366 px and
// 390 px: the call list's MOS / loss / jitter columns say their level in
// words as well as colour; a click on the MOS heading sorts worst first
// through the API (sort=mos in the URL, rows in the API's order); the total
// ("30 calls") is the API's; the page size and the Call-ID field work; a
// saved search comes back after a reload and is deleted; the call page of a
// call with loss draws loss, jitter and MOS graphs whose points are the
// API's series, with a table alternative; the dashboard's numbers are the
// API's; an agent has no dashboard link.  At 390 px nothing scrolls
// sideways and the list rows are cards.  Exit 0 when every step passed.
//
// Environment: UI_URL, UI_USER, UI_AGENT, UI_PASSWORD, UI_CALL (a call with
// loss), UI_CALL_ID (a Call-ID), UI_FROM, UI_TO (the dashboard's period),
// UI_OUT, CHROMIUM.
import { chromium } from 'playwright-core';
import path from 'node:path';
import fs from 'node:fs';

const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
const URL_ = env('UI_URL', '');
if (!URL_) {
  console.error('UI_URL is not set (tests/integration/test_quality_ui.py passes it)');
  process.exit(2);
}
const OUT = env('UI_OUT', '.');
fs.mkdirSync(OUT, { recursive: true });
const fail = (m) => { throw new Error(m); };
const browser = await chromium.launch({
  executablePath: env('CHROMIUM', '/usr/bin/chromium'), headless: true,
  args: ['--mute-audio', '--no-sandbox'],
});
let page, rc = 0, step = 'start';
const errors = [];

async function login(user, width) {
  const ctx = await browser.newContext({ viewport: { width, height: 900 }, locale: 'en-US' });
  page = await ctx.newPage();
  page.setDefaultTimeout(20000);
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of (401|403|404)/.test(m.text())) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  await page.goto(URL_ + '/');
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(env('UI_PASSWORD', ''));
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#search-view').waitFor({ state: 'visible' });
  return ctx;
}

const apiGet = (p) => page.evaluate((u) => api('GET', u), p);

async function noSideways(where) {
  const [sw, iw] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  if (sw > iw) {
    // name the widest element that sticks out, so the failure says what to fix
    const wide = await page.evaluate((w) => {
      // the outermost elements that stick out (their parent does not), and
      // are not inside a box that clips them
      const out = [];
      const clipped = (e) => {
        for (let a = e.parentElement; a; a = a.parentElement) {
          const st = getComputedStyle(a);
          if (st.overflowX !== 'visible' && a !== document.documentElement && a !== document.body) return true;
        }
        return false;
      };
      for (const e of document.querySelectorAll('body *')) {
        const r = e.getBoundingClientRect();
        if (!r.width || r.right <= w || clipped(e)) continue;
        const p = e.parentElement.getBoundingClientRect();
        if (p.right > w && e.parentElement !== document.body) continue;
        out.push({ right: Math.round(r.right), tag: e.tagName, id: e.id, cls: String(e.className) });
      }
      return out.slice(0, 5);
    }, iw);
    fail(where + ': scrolls sideways: scrollWidth ' + sw + ' > innerWidth ' + iw + ' (' + JSON.stringify(wide) + ')');
  }
}

async function searched(hashPart) {
  await page.waitForFunction((h) => location.hash.includes(h) && !state.loading &&
    !/Searching/.test(document.getElementById('search-status').textContent), hashPart);
}

async function rowIds() {
  return page.evaluate(() => [...document.querySelectorAll('#results tbody tr')].map((r) => +r.dataset.id));
}

try {
  for (const width of [1366, 390]) {
    const W = ' @' + width;
    step = 'log in' + W;
    const ctx = await login(env('UI_USER', ''), width);
    await searched('#/calls');

    step = 'total and columns' + W;
    const all = await apiGet('/api/calls?total=1&limit=500');
    await page.waitForFunction(() => /calls/.test(document.getElementById('search-status').textContent));
    const status = await page.locator('#search-status').textContent();
    if (!status.startsWith(all.total.toLocaleString('en-US') + ' calls')) fail('status "' + status + '", API total ' + all.total);
    const first = await page.evaluate(() => {
      const r = document.querySelector('#results tbody tr');
      return [5, 6, 7].map((i) => [r.cells[i].textContent.trim(), r.cells[i].querySelector('.q') && r.cells[i].querySelector('.q').dataset.level]);
    });
    for (const [text, level] of first) {
      if (!level || !text.endsWith(' ' + level)) fail('quality cell "' + text + '" does not say its level');
    }
    const words = await page.evaluate(() => [...document.querySelectorAll('#results td .q')].map((s) => s.textContent));
    if (!words.some((w) => / poor$/.test(w)) || !words.some((w) => / good$/.test(w))) fail('expected good and poor cells: ' + words.slice(0, 12));
    // colour differs by level (and the word says it): poor is not good's colour
    const colours = await page.evaluate(() => ['good', 'poor'].map((l) => {
      const e = document.querySelector('#results .q-' + l);
      return e ? getComputedStyle(e).backgroundColor : null;
    }));
    if (!colours[0] || colours[0] === colours[1]) fail('levels not coloured apart: ' + colours);

    step = 'sort by MOS' + W;
    if (width > 640) {
      await page.locator('#results th[data-sort="mos"] button').click();
    } else {
      await page.locator('#f-sort').selectOption('mos'); // the headings are hidden at phone width
      await page.locator('#search-submit').click();
    }
    await searched('sort=mos');
    const want = (await apiGet('/api/calls?sort=mos&limit=25')).calls.map((c) => c.id);
    const got = await rowIds();
    if (JSON.stringify(got) !== JSON.stringify(want)) fail('MOS order ' + got + ' want ' + want);
    const mos = await page.evaluate(() => [...document.querySelectorAll('#results tbody tr')].map((r) => parseFloat(r.cells[5].textContent)));
    for (let i = 1; i < mos.length; i++) if (mos[i] < mos[i - 1]) fail('MOS not ascending: ' + mos);
    if (width > 640 && await page.locator('#results th[data-sort="mos"]').getAttribute('aria-sort') !== 'ascending') fail('aria-sort');
    console.log('sorted by MOS%s: %s', W, mos.slice(0, 5).join(', '));

    // page size, Call-ID and saved searches do not depend on the width: once
    if (width > 640) {
      step = 'page size' + W;
      await page.goto(URL_ + '/#/calls');
      await searched('#/calls');
      if ((await rowIds()).length !== 25) fail('25 rows by default: ' + (await rowIds()).length);
      await page.locator('#f-limit').selectOption('50');
      await searched('limit=50');
      if ((await rowIds()).length !== all.total) fail('50 a page: ' + (await rowIds()).length);

      step = 'Call-ID' + W;
      await page.locator('#f-callid').fill(env('UI_CALL_ID', ''));
      await page.locator('#search-submit').click();
      await searched('call_id=');
      const byId = await page.evaluate(() => [...document.querySelectorAll('#results tbody tr')].map((r) => state.query.get('call_id')));
      if (byId.length !== 1) fail('Call-ID search: ' + byId.length + ' rows');
      if (!/^1 call/.test(await page.locator('#search-status').textContent())) fail('status for one call');

      step = 'saved search' + W;
      await page.goto(URL_ + '/#/calls?max_mos=3.9&sort=mos&limit=50'); // saved without the page size
      await searched('max_mos=3.9');
      const poor = await rowIds();
      await page.locator('#saved-name').fill('poor calls' + W);
      await page.locator('#saved-save').click();
      await page.waitForFunction(() => /Saved as/.test(document.getElementById('saved-status').textContent));
      await page.goto(URL_ + '/#/calls');
      await page.reload();
      await searched('#/calls');
      await page.locator('#saved-list option', { hasText: 'poor calls' + W }).waitFor({ state: 'attached' });
      await page.locator('#saved-list').selectOption({ label: 'poor calls' + W });
      await searched('max_mos=3.9');
      if (JSON.stringify(await rowIds()) !== JSON.stringify(poor)) fail('the saved search shows other calls');
      if (await page.locator('#f-maxmos').inputValue() !== '3.9') fail('the form shows the saved filter');
      const saved = await apiGet('/api/searches');
      if (!saved.searches.some((s) => s.name === 'poor calls' + W && /max_mos=3.9/.test(s.query))) fail('API: ' + JSON.stringify(saved));
      await page.locator('#saved-delete').click();
      await page.waitForFunction(() => /Deleted/.test(document.getElementById('saved-status').textContent));
      if ((await apiGet('/api/searches')).searches.length) fail('not deleted');
    }
    await noSideways('calls' + W);
    if (width < 640) {
      const disp = await page.evaluate(() => getComputedStyle(document.querySelector('#results tbody tr')).display);
      if (disp !== 'block') fail('rows are not cards at 390 px: ' + disp);
    }
    await page.screenshot({ path: path.join(OUT, 'calls-' + width + '.png'), fullPage: true });

    step = 'call page graphs' + W;
    await page.goto(URL_ + '/#/call/' + env('UI_CALL', ''));
    await page.locator('#quality-panel .qdir').first().waitFor({ state: 'visible' });
    const c = await apiGet('/api/calls/' + env('UI_CALL', ''));
    const qs = c.streams.filter((s) => s.quality && typeof s.quality === 'object');
    const dirs = await page.locator('#quality-panel .qdir').count();
    if (dirs !== qs.length || dirs < 2) fail('directions shown ' + dirs + ', with figures ' + qs.length);
    for (let i = 0; i < qs.length; i++) {
      const ser = qs[i].quality.series;
      const sec = page.locator('#quality-panel .qdir').nth(i);
      for (const name of ['loss', 'jitter', 'mos']) {
        const key = { loss: 'loss_pct', jitter: 'jitter_ms', mos: 'mos' }[name];
        const pts = await sec.locator('figure[data-series="' + name + '"] svg circle').evaluateAll((cs) => cs.map((x) => +x.getAttribute('data-value')));
        const want2 = ser[key].filter((v) => v !== null);
        if (JSON.stringify(pts) !== JSON.stringify(want2)) fail(name + ' points ' + pts.length + ' want ' + want2.length);
        const label = await sec.locator('figure[data-series="' + name + '"] svg').getAttribute('aria-label');
        if (!label || !/values from/.test(label)) fail('no aria-label on the ' + name + ' graph');
      }
      if (!ser.loss_pct.some((v) => v > 0)) fail('the call has no loss to show');
      const toggle = sec.locator('.qseries button.qtoggle');
      if (await toggle.getAttribute('aria-expanded') !== 'false') fail('the table starts folded');
      await toggle.click();
      if (await toggle.getAttribute('aria-expanded') !== 'true') fail('the table opens');
      const trs = await sec.locator('.qseries tbody tr').count();
      if (!(await sec.locator('.qseries table').isVisible())) fail('the series table is not shown');
      if (trs !== ser.mos.length) fail('table rows ' + trs + ', bins ' + ser.mos.length);
      const buf = await sec.locator('table.qbuffers tbody tr').allTextContents();
      if (buf.length !== 3 || !/50 ms/.test(buf[0]) || !/200 ms/.test(buf[1]) || !/Adaptive/.test(buf[2])) fail('buffers: ' + buf);
      const figs = await sec.locator('dl.qfigs').textContent();
      if (!/Longest loss burst/.test(figs) || !/p50 \/ p95 \/ p99/.test(figs)) fail('figures: ' + figs);
      if (!figs.includes(qs[i].quality.longest_burst + ' packet')) fail('longest burst ' + qs[i].quality.longest_burst + ' not in ' + figs);
    }
    await noSideways('call page' + W);
    await page.screenshot({ path: path.join(OUT, 'call-quality-' + width + '.png'), fullPage: true });

    step = 'dashboard' + W;
    const dq = 'from=' + env('UI_FROM', '') + '&to=' + env('UI_TO', '');
    await page.goto(URL_ + '/#/dashboard?' + dq);
    await page.locator('#dash-numbers').waitFor({ state: 'visible' });
    const s = await apiGet('/api/stats?' + dq);
    const nums = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#dash-numbers dd')]
      .map((d) => [d.dataset.key, +d.textContent.replace(/,/g, '')])));
    if (nums.calls !== s.calls || nums.answered !== s.answered || nums.other !== s.calls - s.answered ||
      nums.with_quality !== s.with_quality) fail('dashboard numbers ' + JSON.stringify(nums) + ' API ' + JSON.stringify([s.calls, s.answered, s.with_quality]));
    const bars = await page.locator('#dash-mos svg rect[data-value]').evaluateAll((r) => r.map((x) => +x.getAttribute('data-value')));
    if (JSON.stringify(bars) !== JSON.stringify(s.mos_bands.map((b) => b.calls))) fail('MOS bars ' + bars);
    const hours = await page.locator('#dash-per-time svg rect[data-value]').evaluateAll((r) => r.map((x) => +x.getAttribute('data-value')));
    if (hours.reduce((a, b) => a + b, 0) !== s.calls || hours.length !== 24) fail('calls per hour ' + hours);
    const worstLinks = await page.locator('.dash-worst-calls tbody a').evaluateAll((a) => a.map((x) => x.getAttribute('href')));
    if (JSON.stringify(worstLinks) !== JSON.stringify(s.worst_calls.map((x) => '#/call/' + x.id))) fail('worst calls ' + worstLinks);
    const routes = await page.locator('.dash-worst-routes tbody tr').count();
    if (routes !== s.worst_routes.length) fail('routes ' + routes);
    if (await page.locator('#nav-dashboard').getAttribute('aria-current') !== 'page') fail('nav not marked');
    await noSideways('dashboard' + W);
    await page.screenshot({ path: path.join(OUT, 'dashboard-' + width + '.png'), fullPage: true });
    console.log('dashboard%s: %d calls, %d answered, bands %s', W, s.calls, s.answered, bars.join('/'));
    await ctx.close();
  }

  step = 'agent';
  const ctx = await login(env('UI_AGENT', ''), 1366);
  if (await page.locator('#nav-dashboard').isVisible()) fail('an agent sees the dashboard link');
  await ctx.close();
  if (errors.length) fail('console errors: ' + errors.join(' | '));
  console.log('quality UI: ok');
} catch (e) {
  rc = 1;
  console.error('FAILED at "%s": %s', step, e.message);
  if (page) await page.screenshot({ path: path.join(OUT, 'failed.png'), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
process.exit(rc);
