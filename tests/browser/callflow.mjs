// callflow.mjs - the call page's call flow (web/callflow.js), Chromium
// headless (playwright-core): for each user, log in, open the call, find the
// SIP ladder (one button per message, one column per address), read a
// message's text by click and by keyboard (Tab to it, Enter), and find the
// "Download PCAP" link on the call page and "Download CSV" on the search
// page present for a role with the export permission and absent for an
// agent; the player carries controlslist="nodownload".
// Exit 0 when every step passed.
//
// Environment: UI_URL, UI_USERS (name:export,... e.g. "super1:1,agent1:0"),
// UI_PASSWORD, UI_CALL, UI_MESSAGES (the call's message count), UI_OUT,
// CHROMIUM.
import { chromium } from 'playwright-core';
import path from 'node:path';
import fs from 'node:fs';

const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
const URL_ = env('UI_URL', '');
if (!URL_) {
  console.error('UI_URL is not set (tests/integration/test_callflow.py passes it)');
  process.exit(2);
}
const OUT = env('UI_OUT', '.');
const CALL = env('UI_CALL', '');
const NMSG = +env('UI_MESSAGES', '0');
fs.mkdirSync(OUT, { recursive: true });
const fail = (m) => { throw new Error(m); };
const browser = await chromium.launch({
  executablePath: env('CHROMIUM', '/usr/bin/chromium'), headless: true,
  args: ['--mute-audio', '--no-sandbox'],
});
let rc = 0;
for (const spec of env('UI_USERS', '').split(',')) {
  const [user, exp] = spec.split(':');
  let page, step = 'start';
  const errors = [];
  try {
    page = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
    page.setDefaultTimeout(20000);
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 40[14]/.test(m.text())) errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
    step = 'log in';
    await page.goto(URL_ + '/');
    await page.getByLabel('User name').fill(user);
    await page.getByLabel('Password').fill(env('UI_PASSWORD', ''));
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#search-view').waitFor({ state: 'visible' });

    step = 'the ladder';
    await page.goto(URL_ + '/#/call/' + CALL);
    await page.locator('#callflow-ladder table.ladder').waitFor({ state: 'visible' });
    const buttons = page.locator('#callflow-ladder td.arrow button');
    const n = await buttons.count();
    if (n !== NMSG) fail('ladder has ' + n + ' messages, the call ' + NMSG);
    const cols = await page.locator('#callflow-ladder thead th').count();
    if (cols < 3) fail('ladder has ' + cols + ' heading cells (time + 2 addresses at least)');
    const first = (await buttons.nth(0).textContent()).trim();
    if (!/^INVITE/.test(first)) fail('first arrow: ' + first);

    step = 'message text on click';
    await buttons.nth(0).click();
    const text = await page.locator('#callflow-text').textContent();
    if (!text.startsWith('INVITE sip:')) fail('text of the INVITE: ' + text.slice(0, 40));
    if (!(await page.locator('#callflow-text').isVisible())) fail('the text is not shown');

    step = 'message text by keyboard';
    await buttons.nth(0).focus();
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement && document.activeElement.textContent);
    await page.keyboard.press('Enter');
    const text2 = await page.locator('#callflow-text').textContent();
    const label = focused.replace(/[←→]|\(SDP\)/g, '').trim();
    const want = /^\d{3}/.test(label) ? 'SIP/2.0 ' + label.slice(0, 3) : label.split(' ')[0] + ' ';
    if (!text2.startsWith(want)) fail('Tab + Enter showed: ' + text2.slice(0, 40) + ' for ' + label);

    step = 'downloads for the role';
    const pcap = page.locator('#export-pcap');
    const shown = await pcap.isVisible();
    if (shown !== (exp === '1')) fail('Download PCAP ' + (shown ? 'shown' : 'absent') + ' for ' + user);
    if (shown && (await pcap.getAttribute('href')) !== '/api/calls/' + CALL + '/pcap') fail('pcap href ' + await pcap.getAttribute('href'));
    step = 'CSV of a search for the role';
    await page.goto(URL_ + '/#/calls?outcome=answered');
    await page.locator('#results tbody tr').first().waitFor({ state: 'visible' });
    const csv = page.locator('#export-csv');
    const csvShown = await csv.isVisible();
    if (csvShown !== (exp === '1')) fail('Download CSV ' + (csvShown ? 'shown' : 'absent') + ' for ' + user);
    if (csvShown && !/^\/api\/calls\.csv\?(.*&)?outcome=answered/.test(await csv.getAttribute('href'))) fail('csv href ' + await csv.getAttribute('href'));
    await page.goto(URL_ + '/#/call/' + CALL);
    await page.locator('#callflow-ladder table.ladder').waitFor({ state: 'visible' });
    const cl = await page.locator('#audio').getAttribute('controlslist');
    if (cl !== 'nodownload') fail('player controlslist: ' + cl);
    console.log('%s: ladder of %d messages in %d columns, texts on click and Enter, PCAP and CSV %s',
      user, n, cols - 1, shown ? 'offered' : 'not offered');
    await page.screenshot({ path: path.join(OUT, 'callflow-' + user + '.png'), fullPage: true });
    if (errors.length) fail('console errors: ' + errors.join(' | '));
  } catch (e) {
    rc = 1;
    console.error('FAILED for %s at step "%s": %s', user, step, e.message);
    if (page) await page.screenshot({ path: path.join(OUT, 'callflow-' + user + '-failed.png'), fullPage: true }).catch(() => {});
  }
}
await browser.close();
process.exit(rc);
