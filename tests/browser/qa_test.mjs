// qa_test.mjs - QA scorecards, reports and teams in Chromium (web/qa.js,
// web/qaforms.js, web/teams.js), at 1366 px, each page also at 390 px:
//  1. admin1 defines the form "Support QA" in Admin -> QA forms (sections
//     Opening: "Greets by name" yes/no weight 2 N/A allowed, "Tone" scale
//     weight 3; Compliance: "Verifies identity" yes/no weight 1 fatal),
//     edits it once (version 2), and in Admin -> Teams makes team "red"
//     with agent1 (agent) and super1 (supervisor), removes super1 and adds
//     them again, and scopes super1 to the team;
//  2. super1 plays UI_CALL and, while it plays, scores it twice (yes/4/yes,
//     then yes/4/no: fatal): the preview before saving and the score the
//     server answers are recorded, and how far the player moved meanwhile;
//  3. agent1 sees both evaluations read-only (no scoring form);
//  4. super1 (in the Asia/Kolkata zone: the report's times are shown in
//     it) opens QA reports for agent1 and downloads the CSV; its rows
//     and average are checked against GET /api/reports/qa?agent=agent1.
// Nothing may scroll sideways at either width.  Writes UI_OUT (JSON):
// {preview, saved, playedWhileScoring, csv: {rows, match}, sideways}.
// Exit 0 when every step passed, 1 with the failed step's message.
// Environment: UI_URL, UI_PASSWORD, UI_CALL, UI_OUT, UI_SHOTS, CHROMIUM.
// Run by tests/integration/test_qa_ui.py.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
const URL_ = env('UI_URL', '');
if (!URL_) { console.error('UI_URL is not set (tests/integration/test_qa_ui.py passes it)'); process.exit(2); }
const PW = env('UI_PASSWORD', '');
const CALL = env('UI_CALL', '');
const SHOTS = env('UI_SHOTS', '.');
fs.mkdirSync(SHOTS, { recursive: true });
const t0 = Date.now();
const log = (m) => console.log('[%s s] %s', ((Date.now() - t0) / 1000).toFixed(2), m);
const fail = (m) => { throw new Error(m); };
const out = { preview: [], saved: [], playedWhileScoring: 0, csv: {}, sideways: [] };
let step = 'start';
let rc = 0;

const browser = await chromium.launch({ executablePath: env('CHROMIUM', '/usr/bin/chromium'), headless: true,
  args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--mute-audio'] });
const errors = [];

async function session(name, width, timezoneId) {
  const ctx = await browser.newContext({ acceptDownloads: true, viewport: { width, height: 900 }, timezoneId });
  const page = await ctx.newPage();
  page.setDefaultTimeout(20000);
  page.on('pageerror', (e) => errors.push(name + ': ' + e.message));
  await page.goto(URL_ + '/#/calls');
  await page.locator('#login-name').fill(name);
  await page.locator('#login-password').fill(PW);
  await page.locator('#login-submit').click();
  await page.locator('#search-view').waitFor({ state: 'visible' });
  return page;
}

async function noSideways(page, where) {
  const [sw, iw] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  if (sw > iw) out.sideways.push(where + ': scrollWidth ' + sw + ' > ' + iw);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, name), fullPage: true });
}

// Fill one question row of the form editor (the n-th of the page).
async function fillQuestion(q, text, kind, weight, na, fatal) {
  await q.getByLabel('Question').fill(text);
  await q.getByLabel('Kind').selectOption(kind);
  await q.getByLabel('Weight').fill(String(weight));
  if (na) await q.getByLabel('N/A allowed').check();
  if (fatal) await q.getByLabel('Fatal').check();
}

// Answer the scoring form and return [preview, saved] scores as text.
async function score(page, answers) {
  await page.locator('#qa-form-pick').selectOption({ label: 'Support QA (v2)' });
  for (const [qid, v] of Object.entries(answers)) {
    await page.locator(`#qa-questions fieldset[data-question="${qid}"] input[value="${v}"]`).check();
  }
  const preview = await page.locator('#qa-score').getAttribute('data-score');
  const before = await page.locator('#qa-evals tbody tr').count().catch(() => 0);
  await page.locator('#qa-save').click();
  await page.locator('#qa-status.ok').waitFor();
  await page.waitForFunction((n) => document.querySelectorAll('#qa-evals tbody tr').length === n + 1, before);
  const saved = await page.locator('#qa-status').getAttribute('data-score');
  return [preview, saved];
}

// The page at phone width: nothing scrolls sideways (a screenshot each).
async function narrow(page, where, show) {
  await page.setViewportSize({ width: 390, height: 844 });
  await show();
  await noSideways(page, '390 ' + where);
  await shot(page, 'qa-' + where.replace(/ /g, '-') + '-390.png');
  await page.setViewportSize({ width: 1366, height: 900 });
}

try {
  // ---- 1. the admin: a form and a team ------------------------------------------------
  step = 'admin defines a form';
  const adm = await session('admin1', 1366);
  await adm.goto(URL_ + '/#/admin/forms');
  await adm.locator('#qa-forms-table').waitFor();
  const tabs = await adm.getByRole('tab').allTextContents();
  if (tabs.join('|') !== 'Users|Rules|Audit log|QA forms|Teams') fail('admin tabs: ' + tabs.join('|'));
  await adm.getByRole('button', { name: 'New form' }).click();
  const ed = adm.locator('#qa-form-edit');
  await ed.getByLabel('Form name').fill('Support QA');
  let sec = ed.locator('.qf-section').nth(0);
  await sec.getByLabel('Section title').fill('Opening');
  await fillQuestion(sec.locator('.qf-question').nth(0), 'Greets by name', 'yesno', 2, true, false);
  await sec.getByRole('button', { name: 'Add question' }).click();
  await fillQuestion(sec.locator('.qf-question').nth(1), 'Tone', 'scale', 3, false, false);
  if (!(await sec.locator('.qf-question').nth(1).getByLabel('Fatal').isDisabled())) fail('fatal offered on a scale question');
  await ed.getByRole('button', { name: 'Add section' }).click();
  sec = ed.locator('.qf-section').nth(1);
  await sec.getByLabel('Section title').fill('Compliance');
  await fillQuestion(sec.locator('.qf-question').nth(0), 'Verifies the caller', 'yesno', 1, false, true);
  await noSideways(adm, '1366 form editor');
  await shot(adm, 'qa-form-editor-1366.png');
  await narrow(adm, 'form editor', async () => {});
  await ed.getByRole('button', { name: 'Save form' }).click();
  await adm.locator('#qa-forms-status.ok').waitFor();
  // edit it: a new version, the ids kept
  await adm.getByRole('button', { name: 'Edit form Support QA' }).click();
  await ed.locator('.qf-section').nth(1).getByLabel('Question').fill('Verifies identity');
  await ed.getByRole('button', { name: 'Save form' }).click();
  await adm.locator('#qa-forms-status.ok').filter({ hasText: 'version 2' }).waitFor();
  const cells = await adm.locator('#qa-forms-table tr[data-form="Support QA"] td').allTextContents();
  if (cells[1] !== 'v2' || !cells[2].startsWith('3 (1 fatal)')) fail('forms row: ' + cells.join('|'));
  await noSideways(adm, '1366 admin forms');
  await narrow(adm, 'admin forms', async () => {});
  log('form "Support QA" defined and edited: ' + cells.slice(0, 3).join(' | '));

  step = 'admin makes a team';
  await adm.getByRole('tab', { name: 'Teams' }).click();
  await adm.locator('#teams-table').waitFor();
  await adm.locator('#team-add').getByLabel('Team name').fill('red');
  await adm.getByRole('button', { name: 'Create team' }).click();
  await adm.locator('#team-members').waitFor({ state: 'visible' });
  for (const u of ['agent1', 'super1']) {
    await adm.locator('#team-member-user').selectOption(u);
    await adm.getByRole('button', { name: 'Add member' }).click();
    await adm.locator(`#team-members-table tr[data-member^="${u}:"]`).waitFor();
  }
  // a member removed and added again
  await adm.getByRole('button', { name: 'Remove super1 (supervisor) from red' }).click();
  await adm.locator('#team-members-table tr[data-member^="super1:"]').waitFor({ state: 'detached' });
  await adm.locator('#team-member-user').selectOption('super1');
  await adm.getByRole('button', { name: 'Add member' }).click();
  await adm.locator('#team-members-table tr[data-member="super1:supervisor"]').waitFor();
  await adm.getByLabel('Scope of super1').selectOption('teams');
  await adm.locator('#scopes-status.ok').waitFor();
  const tcells = await adm.locator('#teams-table tr[data-team="red"] td').allTextContents();
  if (tcells[1] !== '1' || tcells[2] !== '1') fail('team row: ' + tcells.join('|'));
  await noSideways(adm, '1366 admin teams');
  await shot(adm, 'qa-admin-teams-1366.png');
  await narrow(adm, 'admin teams', async () => {});
  log('team red: agent1 and super1, super1 scoped to their teams');
  await adm.context().close();

  // ---- 2. the supervisor scores the call while it plays ------------------------------------
  step = 'supervisor scores the call while it plays';
  const sup = await session('super1', 1366, 'Asia/Kolkata'); // the UI's times in the user's zone (UTC+5:30)
  await sup.goto(URL_ + '/#/call/' + CALL);
  await sup.locator('#qa-form-pick').waitFor();
  await sup.locator('#play').click();
  await sup.waitForFunction(() => document.getElementById('audio').currentTime > 0.3);
  const tA = await sup.evaluate(() => document.getElementById('audio').currentTime);
  for (const answers of [{ q1: 'yes', q2: '4', q3: 'yes' }, { q1: 'yes', q2: '4', q3: 'no' }]) {
    const [p, s] = await score(sup, answers);
    out.preview.push(p);
    out.saved.push(s);
  }
  // scoring may take less than a second on an idle machine: the player must
  // still be going, so it gets to 1 s past where scoring began (it would not
  // if scoring had paused it or reloaded the audio)
  await sup.waitForFunction((t) => document.getElementById('audio').currentTime > t + 1.0, tA, { timeout: 10000 })
    .catch(() => {});
  const [tB, paused] = await sup.evaluate(() => [document.getElementById('audio').currentTime, document.getElementById('audio').paused]);
  out.playedWhileScoring = tB - tA;
  if (paused) fail('the player stopped while scoring');
  log('scored twice while playing (' + tA.toFixed(1) + ' s -> ' + tB.toFixed(1) + ' s): preview ' +
    out.preview.join(', ') + ', saved ' + out.saved.join(', '));
  const fatalRow = await sup.locator('#qa-evals tbody tr').nth(1).textContent();
  if (!/0\.00 \(fatal\)/.test(fatalRow)) fail('the fatal evaluation: ' + fatalRow);
  await sup.locator('#qa-form-pick').selectOption({ label: 'Support QA (v2)' });
  await sup.locator('#qa-questions fieldset').first().waitFor();
  await noSideways(sup, '1366 scoring panel');
  await shot(sup, 'qa-call-scoring-1366.png');
  await narrow(sup, 'scoring panel', async () => {});

  // ---- 4. the report and its CSV --------------------------------------------------------------
  step = 'supervisor opens the report';
  await sup.locator('#nav-reports').click();
  await sup.locator('#qa-report-view').waitFor({ state: 'visible' });
  await sup.locator('#qa-r-agent').fill('agent1');
  await sup.getByRole('button', { name: 'Show report' }).click();
  await sup.locator('#qa-report-out[data-q="agent=agent1"]').waitFor();
  await sup.locator('#qa-report-csv').waitFor({ state: 'visible' });
  const api = await sup.evaluate(async () => (await fetch('/api/reports/qa?agent=agent1')).json());
  const summary = await sup.locator('#qa-report-summary dd').allTextContents();
  if (summary[0] !== String(api.count) || summary[1] !== api.average.toFixed(2)) fail('summary ' + summary.join('|') + ' vs ' + JSON.stringify(api));
  const arow = await sup.locator('#qa-report-agents tbody tr').first().locator('td').allTextContents();
  if (arow[0] !== 'agent1' || arow[1] !== String(api.count)) fail('agents row ' + arow.join('|'));
  const tz = await sup.locator('#qa-report-evals th').first().textContent();
  const t = sup.locator('#qa-report-evals tbody time').first();
  const [txt, iso] = [await t.textContent(), await t.getAttribute('datetime')];
  const shift = Date.parse(txt.replace(' ', 'T') + 'Z') - Date.parse(iso);
  if (!/Asia\/(Kolkata|Calcutta)/.test(tz) || shift !== 330 * 60000) fail('report times: ' + tz + ', ' + txt + ' for ' + iso);
  await noSideways(sup, '1366 report');
  await shot(sup, 'qa-report-1366.png');
  await narrow(sup, 'report', async () => {});
  step = 'the CSV against the API';
  const [dl] = await Promise.all([sup.waitForEvent('download'), sup.locator('#qa-report-csv').click()]);
  const file = path.join(SHOTS, 'qa-report.csv');
  await dl.saveAs(file);
  const lines = fs.readFileSync(file, 'utf8').trim().split(/\r?\n/);
  const head = lines[0].split(',');
  const rows = lines.slice(1).map((l) => l.split(','));
  const si = head.indexOf('score'), ai = head.indexOf('agent'), ci = head.indexOf('call');
  const avg = rows.reduce((s, r) => s + +r[si], 0) / rows.length;
  const match = rows.length === api.count && Math.abs(avg - api.average) < 0.006 &&
    rows.every((r) => r[ai] === 'agent1' && r[ci] === CALL) &&
    JSON.stringify(rows.map((r) => (+r[si]).toFixed(2)).sort()) ===
    JSON.stringify(api.evaluations.map((e) => e.score.toFixed(2)).sort());
  out.csv = { rows: rows.length, average: avg, api: { count: api.count, average: api.average }, match };
  if (!match) fail('CSV ' + JSON.stringify(out.csv));
  log('CSV: ' + rows.length + ' rows, average ' + avg.toFixed(2) + ' = the API\'s ' + api.average);
  await sup.context().close();

  // ---- 3. the agent's read-only view --------------------------------------------------------
  step = "the agent's view of their score";
  const ag = await session('agent1', 1366);
  await ag.goto(URL_ + '/#/call/' + CALL);
  await ag.locator('#qa-evals tbody tr').nth(1).waitFor();
  const title = await ag.locator('#qa-title').textContent();
  if (!/read-only/.test(title)) fail('agent panel title: ' + title);
  if (await ag.locator('#qa-form').count()) fail('the agent has a scoring form');
  const scores = await ag.locator('#qa-evals tbody td:nth-child(5)').allTextContents();
  if (scores.join('|') !== out.saved[0] + '|' + out.saved[1] + ' (fatal)') fail('agent sees scores ' + scores.join('|'));
  await ag.locator('#qa-evals details').first().click();
  const ans = await ag.locator('#qa-evals .qa-answers').first().textContent();
  if (!ans.includes('Verifies identity: yes')) fail('answers: ' + ans);
  await noSideways(ag, '1366 agent call page');
  await shot(ag, 'qa-agent-1366.png');
  await narrow(ag, 'agent call page', async () => {});
  log('the agent sees ' + scores.join(', ') + ' read-only');
  await ag.context().close();
  if (errors.length) fail('page errors: ' + errors.join('; '));
  if (out.sideways.length) fail('sideways: ' + out.sideways.join('; '));
  log('qa_test passed');
} catch (e) {
  console.error('FAILED at "' + step + '": ' + e.message);
  rc = 1;
} finally {
  fs.writeFileSync(env('UI_OUT', 'qa.json'), JSON.stringify(out));
  await browser.close();
}
process.exit(rc);
