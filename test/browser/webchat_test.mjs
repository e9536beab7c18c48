#!/usr/bin/env node
// Real-browser test of opsgate's web chat: starts `opsgate serve` on a fresh data
// directory, drives Debian's chromium (through npm playwright-core) through the first
// administrator's enrolment (password, TOTP QR, confirmation), sign-in, the chat
// (whoami, ping, an unknown command), a reload (session cookie), sign-out and a wrong
// password.
//
//   node test/browser/webchat_test.mjs --opsgate build/opsgate [--screenshots DIR]
//
// Needs: /usr/bin/chromium (apt-get install chromium) and
//        npm ci --prefix test/tools/browser
// Exit code 0 = pass; anything else = fail, with the reason on stderr. A global timeout
// makes sure it never hangs; opsgate and the browser are always stopped.

import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const GLOBAL_TIMEOUT_MS = 75_000;  // + at most 10 s of cleanup: under 90 s in all
const STEP_TIMEOUT_MS = 15_000;
const CHROMIUM = process.env.OPSGATE_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const USERNAME = 'admin';
const PASSWORD = 'correct horse battery staple 42';

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const log = (msg) => process.stdout.write(`[${elapsed()}] ${msg}\n`);

// ---- arguments ------------------------------------------------------------------------

function parseArgs(argv) {
  const out = { opsgate: null, screenshots: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--opsgate') out.opsgate = next();
    else if (a.startsWith('--opsgate=')) out.opsgate = a.slice('--opsgate='.length);
    else if (a === '--screenshots') out.screenshots = next();
    else if (a.startsWith('--screenshots=')) out.screenshots = a.slice('--screenshots='.length);
    else if (a === '-h' || a === '--help') usage(null, 0);
    else usage(`unknown argument: ${a}`);
  }
  if (!out.opsgate) usage('--opsgate PATH is required');
  return out;
}

function usage(problem, code = 2) {
  if (problem) process.stderr.write(`webchat_test: ${problem}\n`);
  process.stderr.write('usage: node test/browser/webchat_test.mjs --opsgate PATH [--screenshots DIR]\n');
  process.exit(code);
}

// ---- TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps) -------------------------------

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.toUpperCase().replace(/[\s=-]/g, '');
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const idx = alphabet.indexOf(ch);
    if (idx < 0) throw new Error(`not base32: ${JSON.stringify(text)}`);
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function totpAt(key, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(counter).digest();
  const off = mac[mac.length - 1] & 0x0f;
  const bin = ((mac[off] & 0x7f) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
  return String(bin % 1_000_000).padStart(6, '0');
}

const currentStep = () => Math.floor(Date.now() / 1000 / 30);

// Waits until at least `margin` seconds are left in the current 30 s step, so that a
// code computed now is still in the same step when the server checks it.
async function awayFromStepEdge(margin = 4) {
  const left = 30 - ((Date.now() / 1000) % 30);
  if (left < margin) {
    log(`waiting ${left.toFixed(1)} s for the next TOTP step`);
    await sleep(left * 1000 + 200);
  }
}

// ---- opsgate process ------------------------------------------------------------------

class Opsgate {
  constructor(bin, dataDir) {
    this.bin = bin;
    this.dataDir = dataDir;
    this.stdout = '';
    this.stderr = '';
    this.exited = null;
    this.proc = null;
  }

  start() {
    this.proc = spawn(this.bin, ['serve', '--data-dir', this.dataDir, '--listen', '127.0.0.1:0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env },
    });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stderr.setEncoding('utf8');
    this.proc.stdout.on('data', (d) => { this.stdout += d; });
    this.proc.stderr.on('data', (d) => { this.stderr += d; });
    this.exitPromise = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve(this.exited);
      });
      this.proc.on('error', (err) => {
        this.exited = { code: null, signal: null, error: err };
        resolve(this.exited);
      });
    });
  }

  // Resolves {base, enrol} once stdout has the web chat and first administrator lines.
  async waitReady(timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const web = /web chat:\s*(https:\/\/\S+)/.exec(this.stdout);
      const enrol = /first administrator:\s*(https:\/\/\S+)/.exec(this.stdout);
      if (enrol) {
        let base = web ? web[1] : null;
        if (!base) {
          const m = /"event"\s*:\s*"http\.listening"[^\n]*?"port"\s*:\s*(\d+)/.exec(this.stderr);
          if (m) base = `https://127.0.0.1:${m[1]}/`;
        }
        if (!base) base = new URL('/', enrol[1]).href;
        return { base, enrol: enrol[1] };
      }
      if (this.exited) {
        throw new Error(`opsgate exited before it was ready (${JSON.stringify(this.exited)})`);
      }
      if (Date.now() > deadline) {
        throw new Error(`opsgate printed no "first administrator: https://..." line within ${timeoutMs / 1000} s`);
      }
      await sleep(50);
    }
  }

  async stop() {
    if (!this.proc || this.exited) return this.exited;
    this.proc.kill('SIGTERM');
    const res = await Promise.race([this.exitPromise, sleep(5000).then(() => null)]);
    if (res) return res;
    log('opsgate did not exit within 5 s of SIGTERM: SIGKILL');
    this.proc.kill('SIGKILL');
    return Promise.race([this.exitPromise, sleep(2000).then(() => null)]);
  }

  tail(text, lines = 40) {
    return text.split('\n').slice(-lines).join('\n');
  }
}

// ---- the test -------------------------------------------------------------------------

function loadPlaywright() {
  const here = path.dirname(new URL(import.meta.url).pathname);
  const toolsPkg = path.resolve(here, '../tools/browser/package.json');
  const require = createRequire(toolsPkg);
  try {
    return require('playwright-core');
  } catch (e) {
    throw new Error(`cannot load playwright-core (${e.code || e.message}): run ` +
                    `"npm ci --prefix ${path.dirname(toolsPkg)}"`);
  }
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

// Missing tooling (chromium, playwright-core): skip with exit code 77 (ctest's
// SKIP_RETURN_CODE) outside CI; under CI=true it is a failure.
function requireTooling(cond, message) {
  if (cond) return;
  if (process.env.CI === 'true') throw new Error(`${message} (required under CI=true)`);
  process.stderr.write(`webchat_test: SKIPPED: ${message}\n`);
  process.exit(77);
}

let cleanupFns = [];
async function cleanup() {
  const fns = cleanupFns.reverse();
  cleanupFns = [];
  for (const fn of fns) {
    try {
      await Promise.race([fn(), sleep(6_000)]);
    } catch (e) {
      log(`cleanup: ${e.message}`);
    }
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const opsgateBin = path.resolve(args.opsgate);
  check(fs.existsSync(opsgateBin), `no opsgate binary at ${opsgateBin}`);
  requireTooling(fs.existsSync(CHROMIUM), `no chromium at ${CHROMIUM}: apt-get install chromium`);
  const shotsDir = args.screenshots ? path.resolve(args.screenshots) : null;
  if (shotsDir) fs.mkdirSync(shotsDir, { recursive: true });
  let playwright = null;
  try {
    playwright = loadPlaywright();
  } catch (e) {
    requireTooling(false, e.message);
  }
  const { chromium } = playwright;

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'opsgate-webchat-'));
  cleanupFns.push(async () => fs.rmSync(tmp, { recursive: true, force: true }));

  // 1. opsgate on a fresh data directory: the first start prints the enrolment link.
  const opsgate = new Opsgate(opsgateBin, path.join(tmp, 'data'));
  opsgate.start();
  stopOpsgateNow = () => {
    if (opsgate.proc && !opsgate.exited) opsgate.proc.kill('SIGTERM');
  };
  // Whatever happens, opsgate does not outlive this process.
  process.on('exit', () => {
    if (opsgate.proc && !opsgate.exited) opsgate.proc.kill('SIGKILL');
  });
  // Registered before the browser, so run after it: cleanup goes in reverse.
  cleanupFns.push(async () => {
    const res = await opsgate.stop();
    if (res && !res.error && res.code !== 0 && res.signal !== 'SIGTERM') {
      log(`opsgate exited with ${JSON.stringify(res)} after SIGTERM`);
    }
  });
  failureContext = () => [
    '--- opsgate stdout (tail) ---', opsgate.tail(opsgate.stdout),
    '--- opsgate stderr (tail) ---', opsgate.tail(opsgate.stderr),
  ].join('\n');
  const { base, enrol } = await opsgate.waitReady(20_000);
  check(new URL(enrol).pathname === '/enrol' && new URL(enrol).searchParams.get('t'),
        `enrolment link has no /enrol?t=TOKEN: ${enrol}`);
  log(`opsgate is serving ${base}`);

  // 2. chromium with a fresh profile, trusting opsgate's self-signed development cert.
  const context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    ignoreHTTPSErrors: true,
    viewport: { width: 1024, height: 720 },
    deviceScaleFactor: 1,
    locale: 'en-GB',
    timeout: 30_000,
  });
  cleanupFns.push(() => context.close());
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);

  // Anything the page logs as an error (a CSP violation, an exception, a failed load)
  // fails the test at the end; a dialog means script ran that should not have.
  const pageProblems = [];
  page.on('pageerror', (err) => pageProblems.push(`page error: ${err.message}`));
  let expectLoginRefusal = false;
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    // HTTP errors are judged below, by URL, from the responses themselves.
    if (/^Failed to load resource: the server responded with a status of/.test(text)) return;
    pageProblems.push(`console error: ${text}`);
  });
  page.on('response', (r) => {
    if (r.status() < 400) return;
    const u = new URL(r.url());
    if (expectLoginRefusal && u.pathname === '/api/login' && r.status() === 401) return;
    pageProblems.push(`HTTP ${r.status()} for ${r.request().method()} ${u.pathname}`);
  });
  page.on('requestfailed', (r) => {
    const u = new URL(r.url());
    // Loads cut short by our own navigation (reload) are not failures.
    if (/ERR_ABORTED/.test(r.failure()?.errorText || '')) return;
    pageProblems.push(`request failed: ${r.method()} ${u.pathname}: ${r.failure()?.errorText}`);
  });
  page.on('dialog', async (d) => {
    pageProblems.push(`unexpected dialog (${d.type()}): ${d.message()}`);
    await d.dismiss().catch(() => {});
  });

  const visible = (sel) => page.locator(sel).waitFor({ state: 'visible' });
  const shot = async (name) => {
    if (!shotsDir) return;
    const file = path.join(shotsDir, name);
    await page.screenshot({ path: file, fullPage: true });
    log(`screenshot ${file}`);
  };

  // 3. Enrolment: username and password, then the QR code and the secret.
  const enrolResp = await page.goto(enrol, { waitUntil: 'domcontentloaded' });
  check(enrolResp && enrolResp.status() === 200, `GET /enrol answered ${enrolResp && enrolResp.status()}`);
  const csp = enrolResp.headers()['content-security-policy'] || '';
  check(/default-src 'self'/.test(csp) && /script-src 'self'/.test(csp),
        `GET /enrol has no strict Content-Security-Policy header (got ${JSON.stringify(csp)})`);
  await visible('#enrol-form');
  await page.fill('#enrol-username', USERNAME);
  await page.fill('#enrol-password', PASSWORD);
  await page.fill('#enrol-password2', PASSWORD);
  const enrolApi = page.waitForResponse((r) => r.url().endsWith('/api/enrol') && r.request().method() === 'POST');
  await page.click('#enrol-submit');
  const enrolRes = await enrolApi;
  check(enrolRes.status() === 200, `POST /api/enrol answered ${enrolRes.status()}: ${await enrolRes.text()}`);
  await visible('#view-totp');
  await page.waitForFunction(() => {
    const img = document.getElementById('totp-qr');
    return img && img.complete && img.naturalWidth > 0;
  }, null, { timeout: STEP_TIMEOUT_MS }).catch(() => {
    throw new Error('the TOTP QR code image did not load (is qr_svg a valid SVG?)');
  });
  const secret = (await page.textContent('#totp-secret') || '').replace(/\s+/g, '');
  check(/^[A-Z2-7]{16,}=*$/i.test(secret), `#totp-secret is not a base32 secret: ${JSON.stringify(secret)}`);
  const key = base32Decode(secret);
  log(`enrolment shows the QR code and a ${key.length * 8}-bit secret`);
  await shot('enrol.png');

  // 4. Confirm with the previous step's code (the server accepts +-1 step), so that the
  // current step's code is still unused for the sign-in.
  await awayFromStepEdge();
  const confirmStep = currentStep() - 1;
  await page.fill('#confirm-code', totpAt(key, confirmStep));
  const confirmApi = page.waitForResponse((r) => r.url().endsWith('/api/enrol/confirm'));
  await page.click('#confirm-submit');
  const confirmRes = await confirmApi;
  check(confirmRes.status() === 200,
        `POST /api/enrol/confirm answered ${confirmRes.status()}: ${await confirmRes.text()}`);
  await visible('#view-signin');
  check(await page.inputValue('#signin-username') === USERNAME, 'sign-in form is not prefilled with the new username');
  log('enrolment confirmed; the sign-in form is shown');

  // 5. Sign in with the current step's code.
  await awayFromStepEdge();
  const loginStep = Math.max(currentStep(), confirmStep + 1);
  await page.fill('#signin-password', PASSWORD);
  await page.fill('#signin-code', totpAt(key, loginStep));
  await shot('signin.png');
  const loginApi = page.waitForResponse((r) => r.url().endsWith('/api/login'));
  await page.click('#signin-submit');
  const loginRes = await loginApi;
  check(loginRes.status() === 200, `POST /api/login answered ${loginRes.status()}: ${await loginRes.text()}`);
  const setCookie = (await loginRes.headerValue('set-cookie')) || '';
  check(/httponly/i.test(setCookie) && /secure/i.test(setCookie),
        `the session cookie is not HttpOnly and Secure: ${JSON.stringify(setCookie)}`);
  await visible('#view-chat');
  check((await page.textContent('#user-name')) === USERNAME, 'the header does not show the signed-in user');
  const chatReady = () => page.waitForFunction(
    () => !document.getElementById('chat-send').disabled, null, { timeout: STEP_TIMEOUT_MS },
  ).catch(() => { throw new Error('the chat WebSocket did not open (Send stays disabled)'); });
  await chatReady();
  log('signed in; the chat is connected');

  // 6. The chat: each command must get a bot reply containing the expected text.
  const say = async (text, expect) => {
    const before = await page.locator('#messages .msg-bot').count();
    await page.fill('#chat-input', text);
    await page.press('#chat-input', 'Enter');
    await page.waitForFunction(({ n, needle }) => {
      const bots = [...document.querySelectorAll('#messages .msg-bot')].slice(n);
      return bots.some((b) => b.textContent.toLowerCase().includes(needle));
    }, { n: before, needle: expect.toLowerCase() }, { timeout: STEP_TIMEOUT_MS }).catch(async () => {
      const all = await page.locator('#messages').innerText().catch(() => '?');
      throw new Error(`no reply containing ${JSON.stringify(expect)} to ${JSON.stringify(text)}; ` +
                      `the messages are:\n${all}`);
    });
    log(`"${text}" -> reply contains "${expect}"`);
  };
  await say('whoami', USERNAME);
  await say('ping', 'pong');
  // Out of scope for the classifier: a short help instead of a guess.
  await say('frobnicate', "can't help");
  // A taller window for the picture, so that the three replies fit in it.
  await page.setViewportSize({ width: 1024, height: 860 });
  await page.locator('#messages .msg-bot').last().scrollIntoViewIfNeeded();
  await shot('chat.png');
  await page.setViewportSize({ width: 1024, height: 720 });

  // Text from the user (and echoed by the server) is shown as text, never as markup.
  const xss = '<img src=x id=xss-probe onerror="alert(1)">';
  const botsBefore = await page.locator('#messages .msg-bot').count();
  await page.fill('#chat-input', xss);
  await page.press('#chat-input', 'Enter');
  await page.locator('#messages .msg-bot').nth(botsBefore).waitFor({ state: 'attached' });
  check(await page.locator('#xss-probe').count() === 0, 'user text was rendered as HTML (XSS)');
  check((await page.locator('#messages .msg-user').last().textContent()).includes(xss),
        'the user message is not shown verbatim');
  log('markup in a message is shown as text');

  // 7. Reload: the session cookie keeps the user signed in, and the chat reconnects.
  await page.reload({ waitUntil: 'domcontentloaded' });
  await visible('#view-chat');
  check((await page.textContent('#user-name')) === USERNAME, 'after a reload the header does not show the user');
  await chatReady();
  await say('ping', 'pong');
  log('still signed in after a reload');

  // 8. Sign out: back to the sign-in form, and the session is gone on the server.
  const logoutApi = page.waitForResponse((r) => r.url().endsWith('/api/logout'));
  await page.click('#signout-button');
  const logoutRes = await logoutApi;
  check(logoutRes.status() === 200, `POST /api/logout answered ${logoutRes.status()}: ${await logoutRes.text()}`);
  await visible('#view-signin');
  const session = await page.evaluate(async () => (await fetch('/api/session', { cache: 'no-store' })).json());
  check(session && session.signed_in === false, `after sign-out /api/session says ${JSON.stringify(session)}`);
  await page.reload({ waitUntil: 'domcontentloaded' });
  await visible('#view-signin');
  log('signed out; a reload shows the sign-in form');

  // 9. A wrong password shows the server's error next to the form.
  await awayFromStepEdge();
  await page.fill('#signin-username', USERNAME);
  await page.fill('#signin-password', 'not the right password at all');
  await page.fill('#signin-code', totpAt(key, Math.max(currentStep(), loginStep) + 1));
  expectLoginRefusal = true;
  const badApi = page.waitForResponse((r) => r.url().endsWith('/api/login'));
  await page.click('#signin-submit');
  const badRes = await badApi;
  const badBody = await badRes.json().catch(() => ({}));
  check(badRes.status() === 401 && badBody.error === 'bad_credentials',
        `a wrong password answered ${badRes.status()} ${JSON.stringify(badBody)}, not 401 bad_credentials`);
  await visible('#signin-error');
  const errText = ((await page.textContent('#signin-error')) || '').trim();
  check(errText.length > 0, 'the sign-in error message is empty');
  check(await page.locator('#view-chat').isHidden(), 'a wrong password opened the chat');
  log(`a wrong password shows: "${errText}"`);

  check(pageProblems.length === 0, `the page reported problems:\n  ${pageProblems.join('\n  ')}`);
}

let failureContext = () => '';
let stopOpsgateNow = () => {};

let failing = false;
async function fail(err) {
  if (failing) return;  // the first failure reports and cleans up; later ones are its echoes
  failing = true;
  process.stderr.write(`\nwebchat_test: FAIL after ${elapsed()}: ${err && err.message ? err.message : err}\n`);
  if (err && err.stack && process.env.VERBOSE) process.stderr.write(`${err.stack}\n`);
  const ctx = failureContext();
  if (ctx) process.stderr.write(`${ctx}\n`);
  stopOpsgateNow();  // first, in case closing the browser hangs
  await cleanup();
  process.exit(1);
}

const globalTimer = setTimeout(() => {
  fail(new Error(`global timeout: the test did not finish within ${GLOBAL_TIMEOUT_MS / 1000} s`));
  // If cleanup itself hangs, leave anyway (opsgate gets SIGKILL on exit).
  setTimeout(() => process.exit(1), 10_000).unref();
}, GLOBAL_TIMEOUT_MS);

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => fail(new Error(`interrupted by ${sig}`)));
}

try {
  await main();
  clearTimeout(globalTimer);
  await cleanup();
  log('webchat_test: PASS');
  process.exit(0);
} catch (err) {
  clearTimeout(globalTimer);
  await fail(err);
}
