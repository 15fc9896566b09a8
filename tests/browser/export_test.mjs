// export_test.mjs - downloads of recordings in the web UI (web/export.js), in
// Chromium headless (playwright-core): as ES_USER (a supervisor) the search
// list has a checkbox per recorded call; ticking ES_IDS and pressing
// "Download ZIP" with MP3 chosen saves the ZIP to ES_ZIP; the call page of
// the first id has "Download WAV" and "Download MP3" links to the API, and
// the WAV one downloads to ES_WAV.  As ES_AGENT (an agent) neither the
// checkboxes nor the links are there.  Exit 0 when every step passed.
//
// Environment: ES_URL, ES_USER, ES_AGENT, ES_PASSWORD, ES_CHROMIUM, ES_IDS, ES_ZIP, ES_WAV.
import { chromium } from 'playwright-core';

const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
const URL_ = env('ES_URL', '');
if (!URL_) {
  console.error('export: ES_URL is not set (tests/integration/test_export_api.py passes it)');
  process.exit(1);
}
const IDS = env('ES_IDS', '').split(',');
let step = 'start', rc = 0;
const browser = await chromium.launch({ executablePath: env('ES_CHROMIUM', '/usr/bin/chromium'),
  headless: true, args: ['--no-sandbox'] });

async function login(name) {
  const page = await (await browser.newContext({ acceptDownloads: true, viewport: { width: 1366, height: 900 } })).newPage();
  page.setDefaultTimeout(30000);
  await page.goto(URL_);
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(env('ES_PASSWORD', ''));
  await page.getByLabel('Password').press('Enter');
  await page.locator('#results tbody tr').first().waitFor({ state: 'visible' });
  return page;
}

try {
  step = 'supervisor: tick the calls';
  const page = await login(env('ES_USER', 'sup'));
  for (const id of IDS) await page.locator(`#results tbody tr[data-id="${id}"] input.export-pick`).check();
  if (page.url().includes('#/call/')) throw new Error('ticking a call opened it');
  step = 'supervisor: download the ZIP';
  await page.getByLabel('Format of the ZIP').selectOption('mp3');
  const [zip] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download ZIP of the chosen calls' }).click()]);
  await zip.saveAs(env('ES_ZIP', 'calls.zip'));
  step = 'supervisor: the call page links';
  await page.goto(URL_ + '#/call/' + IDS[0]);
  const wav = page.getByRole('link', { name: 'Download WAV' });
  await wav.waitFor({ state: 'visible' });
  const mp3 = await page.getByRole('link', { name: 'Download MP3' }).getAttribute('href');
  if (mp3 !== '/api/calls/' + IDS[0] + '/export?format=mp3') throw new Error('MP3 link: ' + mp3);
  const [dl] = await Promise.all([page.waitForEvent('download'), wav.click()]);
  await dl.saveAs(env('ES_WAV', 'call.wav'));

  step = 'agent: no export controls';
  const ag = await login(env('ES_AGENT', 'ag-own'));
  const picks = await ag.locator('input.export-pick').count();
  const bar = await ag.locator('#export-bar').isVisible();
  if (picks || bar) throw new Error(`an agent sees ${picks} checkboxes, the ZIP bar ${bar ? 'shown' : 'hidden'}`);
  await ag.goto(URL_ + '#/call/' + env('ES_AGENT_CALL', IDS[0]));
  await ag.locator('#call-view').waitFor({ state: 'visible' });
  await ag.waitForTimeout(500);
  if (await ag.locator('#export-audio').isVisible()) throw new Error('an agent sees the download links');
  console.log('export in Chromium: ZIP and WAV downloaded, agent sees no export control');
} catch (e) {
  console.error('FAIL at %s: %s', step, e.message);
  rc = 1;
} finally {
  await browser.close();
}
process.exit(rc);
