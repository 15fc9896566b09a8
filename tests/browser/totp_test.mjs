// totp_test.mjs - the two-step sign-in in Chromium headless (playwright-core)
// at 1366x768 and 390x844: an admin whose role needs a second factor
// ([api] required_mfa = admin) logs in and is held on the Account page
// (Calls sends back there), sets up the authenticator (the otpauth:// URI
// and the key shown as text), turns it on with a code computed here (RFC
// 6238, node's crypto) and sees 10 recovery codes once; then Calls opens.
// Logged out and in again, the password step is followed by the code step:
// a wrong code is refused and the form stays, the next step's code signs
// in; a third sign-in uses a recovery code.  At phone width the code step
// does not scroll sideways.  Exit 0 when every step passed, 1 with the
// failed step's message.
//
// Environment: UI_URL (required), UI_ADMIN, UI_PASSWORD, UI_OUT, CHROMIUM.
// Run by tests/integration/test_totp_ui.py.
import { chromium } from 'playwright-core';
import crypto from 'node:crypto';
import path from 'node:path';
import fs from 'node:fs';

const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
const URL_ = env('UI_URL', '');
if (!URL_) {
  console.error('UI_URL is not set (tests/integration/test_totp_ui.py passes it)');
  process.exit(2);
}
const ADMIN = env('UI_ADMIN', 'admin1');
const PASSWORD = env('UI_PASSWORD', '');
const OUT = env('UI_OUT', '.');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const T = 20000;

// RFC 4648 base32 to bytes, then RFC 6238 (HMAC-SHA-1, 30 s, 6 digits)
function b32(s) {
  const a = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, acc = 0;
  const out = [];
  for (const c of s.replace(/[\s=]/g, '').toUpperCase()) {
    acc = (acc << 5) | a.indexOf(c);
    bits += 5;
    if (bits >= 8) { out.push((acc >>> (bits - 8)) & 255); bits -= 8; }
  }
  return Buffer.from(out);
}
function totp(secret, t) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(Math.floor(t / 30)));
  const mac = crypto.createHmac('sha1', b32(secret)).update(msg).digest();
  const off = mac[19] & 15;
  return String((mac.readUInt32BE(off) & 0x7fffffff) % 1000000).padStart(6, '0');
}
// now, away from a step's edge (the server reads its own clock)
async function safeNow() {
  for (;;) {
    const t = Date.now() / 1000;
    if (t % 30 > 3 && t % 30 < 27) return t;
    await new Promise((r) => setTimeout(r, 500));
  }
}

fs.mkdirSync(OUT, { recursive: true });
const t0 = Date.now();
let step = 'start';
let steps = 0;
const log = (m) => { steps++; console.log('[%s s] %s', ((Date.now() - t0) / 1000).toFixed(2), m); };
const fail = (m) => { throw new Error(m); };

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
let page;
let rc = 0;
const consoleErrors = [];

async function password() {
  await page.goto(URL_ + '/#/calls');
  await page.locator('#login-view').waitFor({ state: 'visible' });
  await page.getByLabel('User name').fill(ADMIN);
  await page.locator('#login-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
}

async function logout() {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.locator('#login-view').waitFor({ state: 'visible' });
}

async function shot(name) {
  const p = path.join(OUT, name);
  await page.screenshot({ path: p, fullPage: true });
  console.log('screenshot: ' + p);
}

try {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  page = await ctx.newPage();
  page.setDefaultTimeout(T);
  page.on('console', (m) => {
    // 401 before login and the 401/403 of wrong codes on purpose are expected
    if (m.type() === 'error' && !/status of (401|403)/.test(m.text())) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push('pageerror: ' + e.message));

  step = 'first sign-in: held on the Account page';
  await password();
  await page.locator('#account-view').waitFor({ state: 'visible' });
  await page.locator('#totp-status').filter({ hasText: 'needs two-factor' }).waitFor();
  if (await page.locator('#tokens-table').isVisible()) fail('the token table shows while enrolment is owed');
  await page.evaluate(() => { location.hash = '#/calls'; });
  await page.waitForTimeout(300);
  if (!(await page.locator('#account-view').isVisible()) || (await page.locator('#search-view').isVisible())) {
    fail('Calls opened before a second factor was enrolled');
  }
  log('the admin is held on the Account page (Calls sends back)');

  step = 'set up the authenticator';
  await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
  // the URI comes from POST /api/me/totp: read it once it is there
  await page.locator('#totp-uri').filter({ hasText: 'otpauth://' }).waitFor();
  const uri = (await page.locator('#totp-uri').textContent()) || '';
  const key = ((await page.locator('#totp-secret').textContent()) || '').replace(/\s/g, '');
  if (!uri.startsWith('otpauth://totp/earshot:' + ADMIN + '?') || !uri.includes('secret=' + key)) {
    fail('the URI shown: ' + uri + ' key ' + key);
  }
  await shot('totp-setup.png');
  let t = await safeNow();
  await page.locator('#totp-setup').getByLabel('Code the app shows').fill(totp(key, t));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await page.locator('#totp-recovery').waitFor({ state: 'visible' });
  const codes = await page.locator('#totp-recovery-codes li').allTextContents();
  if (codes.length !== 10 || !codes.every((c) => /^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/.test(c))) {
    fail('recovery codes: ' + codes.join(' '));
  }
  if ((await page.locator('#totp-uri').textContent()) !== '') fail('the URI stays on screen after turning on');
  await page.getByRole('button', { name: 'I have saved them' }).click();
  await page.locator('#totp-status').filter({ hasText: 'On:' }).waitFor();
  await page.locator('#nav-calls').click();
  await page.locator('#search-view').waitFor({ state: 'visible' });
  log('enrolled from the URI and key shown as text; 10 recovery codes shown once; Calls opens');

  step = 'sign in with a code';
  await logout();
  await password();
  await page.locator('#totp-form').waitFor({ state: 'visible' });
  if (await page.locator('#login-form').isVisible()) fail('the password form stays with the code step');
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
  if (focused !== 'login-code') fail('focus on the code step: #' + focused);
  t = await safeNow();
  const right = totp(key, t + 30); // the next step: the current one confirmed enrolment
  await page.locator('#login-code').fill(right === '000000' ? '111111' : '000000');
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.locator('#error').filter({ hasText: 'Error 401' }).waitFor();
  if (!(await page.locator('#totp-form').isVisible())) fail('a wrong code left the code step');
  await page.locator('#login-code').fill(right);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.locator('#search-view').waitFor({ state: 'visible' });
  const who = await page.locator('#who-name').textContent();
  if (!who.startsWith(ADMIN)) fail('signed in as ' + who);
  log('password, then a wrong code (refused, the step stays), then the right one: signed in');

  step = 'sign in with a recovery code, at phone width';
  await logout();
  await page.setViewportSize({ width: 390, height: 844 });
  await password();
  await page.locator('#totp-form').waitFor({ state: 'visible' });
  await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
  await page.locator('#login-recovery').fill(codes[3]);
  const sideways = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  if (sideways) fail('the code step scrolls sideways at 390 px');
  await shot('totp-recovery-390.png');
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.locator('#search-view').waitFor({ state: 'visible' });
  log('a recovery code signs in (390 px, no sideways scrolling)');

  if (consoleErrors.length) fail('console errors: ' + consoleErrors.join(' | '));
  console.log('PASS: %d steps in %s s', steps, ((Date.now() - t0) / 1000).toFixed(2));
} catch (e) {
  rc = 1;
  console.error(`FAIL at "${step}": ${e.message.split('\n')[0]}`);
  if (consoleErrors.length) console.error('console errors: ' + consoleErrors.join(' | '));
  if (page) {
    const p = path.join(OUT, 'totp-failure.png');
    try { await page.screenshot({ path: p, fullPage: true }); console.error('screenshot: ' + p); } catch {}
  }
} finally {
  await browser.close();
}
process.exit(rc);
