// End-to-end test of the portal in headless Chromium against a real `sluice serve`.
//
// Started by tests/portal/run.sh, which builds the portal and the binary first. Environment:
//   SLUICE_BIN            the sluice binary (required)
//   CHROMIUM              the browser (default /usr/bin/chromium)
//   PORTAL_E2E_DATABASE   a Postgres URL for a fresh, empty database; SQLite otherwise
//   PORTAL_SCREENSHOTS    where screenshots go (default target/portal-screenshots)
//
// The steps run in order and share one browser session, like a person would: sign up, verify
// through the mailed link (read from the server's log, where the log mailer writes it), sign
// in, create a tenant, a key (copied from the clipboard and used on the data plane), invite a
// colleague, store a provider key (shown masked), read the audit log, make an access token,
// revoke the key. Then every page is visited for console errors, and sign-up is done again
// with the keyboard only.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const BIN = process.env.SLUICE_BIN;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = resolve(process.env.PORTAL_SCREENSHOTS || 'target/portal-screenshots');
const PASSWORD = 'correct horse battery staple';
const EMAIL = 'ada@example.com';
const COLLEAGUE = 'grace@example.com';
const PROVIDER_SECRET = 'sk-own-provider-key-0123456789wxyz';
// The flags measured to work on our machines (shared/TOOLCHAIN.md).
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

let server;
let serverLog = '';
let base;
let workdir;
let browser;
let context;
let page;
const consoleErrors = [];
const state = {};
let broken = null;

/** One step of the story: skipped once an earlier step failed, since it builds on it. */
function step(name, fn) {
  test(name, async (t) => {
    if (broken) return t.skip(`after the failure of "${broken}"`);
    try {
      await fn(t);
    } catch (error) {
      broken = name;
      await shot(`failed-${name.replace(/[^a-z0-9]+/gi, '-')}`).catch(() => {});
      throw error;
    }
  });
}

function freePort() {
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

async function eventually(what, check, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The last link the log mailer "sent" to `to` whose path is `path`. */
function mailedLink(to, path) {
  const links = [];
  for (const line of serverLog.split('\n')) {
    if (!line.includes('mail (log sender)')) continue;
    let event;
    try { event = JSON.parse(line); } catch { continue; }
    const fields = event.fields || event;
    if (fields.to !== to) continue;
    const match = String(fields.body).match(new RegExp(`https?://\\S+/${path}\\?token=[A-Za-z0-9_-]+`));
    if (match) links.push(match[0]);
  }
  return links.at(-1);
}

function watch(target) {
  target.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(`${target.url()}: ${message.text()}`);
  });
  target.on('pageerror', (error) => consoleErrors.push(`${target.url()}: ${error.message}`));
}

async function shot(name, target = page) {
  await target.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Waits until the WebAssembly app has rendered (the boot line is gone). */
async function ready(target = page) {
  await target.waitForSelector('#boot', { state: 'detached', timeout: 20_000 });
}

async function visit(path, target = page) {
  await target.goto(base + path);
  await ready(target);
}

before(async () => {
  assert.ok(BIN, 'SLUICE_BIN must name the sluice binary');
  mkdirSync(SHOTS, { recursive: true });
  workdir = mkdtempSync(join(tmpdir(), 'sluice-portal-'));
  const config = join(workdir, 'sluice.toml');
  writeFileSync(config, `
[providers.openai]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"

[providers.mock]
kind = "mock"

[[models]]
alias = "mock"
provider = "mock"
`);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    SLUICE_LISTEN: `127.0.0.1:${port}`,
    SLUICE_DATA_DIR: join(workdir, 'data'),
    SLUICE_LOG_FORMAT: 'json',
    SLUICE_LOG_LEVEL: 'info',
    SLUICE_MASTER_KEY: randomBytes(32).toString('base64'),
  };
  // The mail links are read from the log at INFO: no outside filter may hide them.
  delete env.RUST_LOG;
  delete env.SLUICE_DATABASE_URL;
  if (process.env.PORTAL_E2E_DATABASE) env.SLUICE_DATABASE_URL = process.env.PORTAL_E2E_DATABASE;
  server = spawn(BIN, ['serve', '--config', config], { cwd: workdir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout.on('data', (chunk) => { serverLog += chunk; });
  server.stderr.on('data', (chunk) => { serverLog += chunk; });
  server.on('exit', (code) => { serverLog += `\n[sluice exited with ${code}]\n`; });
  await eventually('sluice to be ready', async () => {
    try { return (await fetch(`${base}/readyz`)).ok; } catch { return false; }
  }, 60_000);

  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  watch(page);
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await Promise.race([new Promise((ok) => server.once('exit', ok)), sleep(10_000)]);
  }
  if (process.env.PORTAL_E2E_KEEP_LOG) writeFileSync(join(SHOTS, 'sluice.log'), serverLog);
  if (workdir) rmSync(workdir, { recursive: true, force: true });
});

step('the portal is served with the right types and caching', async () => {
  const index = await fetch(`${base}/keys`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /^text\/html/);
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  const html = await index.text();
  const wasm = html.match(/\/assets\/portal-[0-9a-f]+\.wasm/)[0];
  const asset = await fetch(base + wasm, { headers: { 'accept-encoding': 'br, gzip' } });
  assert.equal(asset.status, 200);
  assert.equal(asset.headers.get('content-type'), 'application/wasm');
  assert.match(asset.headers.get('cache-control'), /immutable/);
  const missing = await fetch(`${base}/v1/nothing/here`);
  assert.equal(missing.status, 404, 'API paths keep their JSON 404');
  assert.equal((await missing.json()).error.code, 'not_found');
  assert.equal((await fetch(`${base}/assets/portal-0000.js`)).status, 404, 'a missing file is no page');
});

step('sign up', async () => {
  await visit('/signup');
  await shot('01-signup');
  await page.getByLabel('Your name').fill('Ada Lovelace');
  await page.getByLabel('Email address').fill(EMAIL);
  await page.locator('#signup-password').fill('short');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByText('Use at least 12 characters').waitFor();
  await page.locator('#signup-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Check your email' }).waitFor();
  await shot('02-signup-sent');
});

step('verify the address through the mailed link', async () => {
  const link = await eventually('the verification mail', () => mailedLink(EMAIL, 'verify-email'));
  assert.ok(link.startsWith(base), link);
  await page.goto(link);
  await ready();
  await page.getByText('is verified').waitFor();
  await shot('03-verified');
});

step('sign in', async () => {
  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.getByLabel('Email address').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await shot('04-login');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'API keys' }).waitFor();
  await page.getByText(EMAIL).waitFor();
  // The product's name comes from GET /api/v1/branding (this host is the platform's own).
  await eventually('the branded title', async () => (await page.title()) === 'API keys · Sluice');
});

step('create a tenant and switch to it', async () => {
  await page.getByRole('link', { name: 'Tenants' }).click();
  await page.getByLabel('Tenant name').fill('Acme');
  await page.getByRole('button', { name: 'Create tenant' }).click();
  await page.getByText('Created Acme').waitFor();
  await eventually('Acme to be current', async () =>
    (await page.locator('#tenant-switcher option:checked').textContent())?.trim() === 'Acme');
  await shot('05-tenants');
});

step('create an API key and copy it', async () => {
  await page.getByRole('link', { name: 'API keys' }).click();
  await page.getByRole('button', { name: 'Create key' }).click();
  await page.getByLabel('Name').fill('ci');
  await page.getByLabel('Allowed models').fill('mock');
  await page.getByLabel('Chat completions').check();
  await page.getByLabel('Expires').selectOption('30');
  await page.getByLabel('Monthly budget (USD)').fill('25');
  await shot('06-key-form');
  await page.getByRole('button', { name: 'Create key' }).click();
  const secret = page.locator('#new-key-secret');
  await secret.waitFor();
  state.key = await secret.inputValue();
  assert.match(state.key, /^sk-sluice-/);
  await page.locator('.secret-row').getByRole('button', { name: 'Copy' }).click();
  await page.getByText('Copied to the clipboard.').waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, state.key);
  await shot('07-key-created');
  await page.getByRole('button', { name: 'Done, I have stored it' }).click();
  await page.locator('.keys-table').getByText('ci', { exact: true }).waitFor();
});

step('the copied key calls the data plane', async () => {
  const answer = await eventually('the new key to work', async () => {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${state.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock', messages: [{ role: 'user', content: 'Hello portal' }] }),
    });
    return res.status === 200 ? res.json() : null;
  });
  assert.match(answer.choices[0].message.content, /Hello portal/);
});

step('invite a colleague with a role', async () => {
  await page.getByRole('link', { name: 'Members' }).click();
  await page.getByText(EMAIL).first().waitFor();
  await page.getByLabel('Email address').fill(COLLEAGUE);
  await page.getByLabel('Role', { exact: true }).selectOption('viewer');
  await page.getByRole('button', { name: 'Send invitation' }).click();
  const link = await page.locator('#invitation-link').inputValue();
  assert.match(link, /\/accept-invitation\?token=/);
  const row = page.locator('tr', { hasText: COLLEAGUE });
  await row.getByText('Viewer').waitFor();
  await row.getByText('pending').waitFor();
  await eventually('the invitation mail', () => mailedLink(COLLEAGUE, 'accept-invitation'));
  await shot('08-members');
});

step('store a provider key and see it only masked', async () => {
  await page.getByRole('link', { name: 'Provider keys' }).click();
  await page.getByLabel('Name').fill('openai-own');
  await page.getByLabel('Provider', { exact: true }).selectOption('openai');
  await page.getByLabel('API key').fill(PROVIDER_SECRET);
  await page.getByRole('button', { name: 'Store key' }).click();
  const row = page.locator('tr', { hasText: 'openai-own' });
  await row.waitFor();
  const mask = (await row.locator('code.mask').textContent()).trim();
  assert.ok(mask.startsWith('sk-') && mask.endsWith('wxyz') && mask.includes('…'), mask);
  assert.ok(!(await page.content()).includes(PROVIDER_SECRET), 'the secret is not on the page');
  await shot('09-provider-keys');
});

step('read the audit log, filtered and paginated', async () => {
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.locator('.audit-event').first().waitFor();
  const actions = await page.locator('.audit-event code.action').allTextContents();
  for (const expected of ['tenant.create', 'key.create', 'invitation.create', 'provider_credential.create']) {
    assert.ok(actions.includes(expected), `${expected} in ${actions}`);
  }
  await shot('10-audit');
  await page.getByLabel('Action starts with').fill('key.');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await eventually('only key events', async () => {
    const shown = await page.locator('.audit-event code.action').allTextContents();
    return shown.length > 0 && shown.every((it) => it.startsWith('key.'));
  });
  await page.locator('.audit-event details summary').first().click();
  await page.getByText('Before', { exact: true }).first().waitFor();
  await shot('11-audit-filtered');
});

step('create a personal access token and use it', async () => {
  await page.getByRole('link', { name: 'Access tokens' }).click();
  await page.getByLabel('Name').fill('terraform');
  await page.getByRole('button', { name: 'Create token' }).click();
  const token = await page.locator('#new-token-secret').inputValue();
  const me = await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(me.status, 200);
  assert.equal((await me.json()).user.email, EMAIL);
  await shot('12-tokens');
});

step('rotate, then revoke the key after a confirmation', async () => {
  await page.getByRole('link', { name: 'API keys' }).click();
  const row = page.locator('.keys-table tbody tr', { hasText: 'ci' }).first();
  await row.getByRole('button', { name: 'Rotate' }).click();
  const rotate = page.getByRole('dialog', { name: 'Rotate this key?' });
  await rotate.getByLabel('Old key keeps working for').selectOption('0');
  await shot('13-rotate-dialog');
  await rotate.getByRole('button', { name: 'Rotate key' }).click();
  const rotated = await page.locator('#new-key-secret').inputValue();
  assert.notEqual(rotated, state.key);
  await page.getByRole('button', { name: 'Done, I have stored it' }).click();

  const active = page.locator('.keys-table tbody tr', { has: page.getByRole('button', { name: 'Revoke' }) }).first();
  await active.getByRole('button', { name: 'Revoke' }).click();
  const dialog = page.getByRole('dialog', { name: 'Revoke this key?' });
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Revoke key' }).click();
  await page.getByText(/^Revoked /).waitFor();
  await eventually('the revoked key to be refused', async () => {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${rotated}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock', messages: [{ role: 'user', content: 'x' }] }),
    });
    return res.status === 401;
  });
});

step('every page renders, on a desktop and on a phone, in both themes', async () => {
  const pages = [
    ['keys', '/keys', 'API keys'],
    ['members', '/members', 'Members'],
    ['provider-keys', '/provider-credentials', 'Provider keys'],
    ['audit', '/audit', 'Audit log'],
    ['tenants', '/tenants', 'Tenants'],
    ['tokens', '/tokens', 'Personal access tokens'],
    ['explorer', '/explorer', 'API explorer'],
    ['dashboard', '/dashboard', 'Dashboard'],
    ['service-accounts', '/service-accounts', 'Service accounts'],
    ['partner', '/partner', 'Partner console'],
    ['operator', '/operator', 'Operator view'],
  ];
  for (const [name, path, heading] of pages) {
    await visit(path);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    await shot(`20-${name}`);
  }
  await visit('/no/such/page');
  await page.getByRole('heading', { name: 'Page not found' }).waitFor();

  await page.emulateMedia({ colorScheme: 'dark' });
  await visit('/keys');
  await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.notEqual(background, 'rgb(246, 247, 249)', 'dark mode follows the system');
  await shot('30-keys-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  const phone = await context.newPage();
  watch(phone);
  await phone.setViewportSize({ width: 390, height: 844 });
  await visit('/keys', phone);
  await phone.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
  await shot('31-keys-phone', phone);
  const overflow = await phone.evaluate(() => {
    const wide = [...document.querySelectorAll('body *')]
      .filter((it) => it.getBoundingClientRect().right > window.innerWidth + 1)
      .filter((it) => !it.parentElement.closest('.table-wrap'))
      .map((it) => `${it.tagName.toLowerCase()}.${it.className}`);
    return { by: document.documentElement.scrollWidth - window.innerWidth, wide: wide.slice(0, 5) };
  });
  assert.ok(overflow.by <= 1, `no sideways scrolling on a phone: ${JSON.stringify(overflow)}`);
  await phone.getByRole('button', { name: 'Menu' }).click();
  await phone.getByRole('link', { name: 'Members' }).click();
  await phone.getByRole('heading', { level: 1, name: 'Members' }).waitFor();
  await phone.locator('#sidebar').waitFor({ state: 'hidden' });
  await shot('32-members-phone', phone);
  await phone.close();
});

step('sign out', async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await visit('/keys');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.match(page.url(), /\/login\?next=%2Fkeys$/);
});

step('sign-up works with the keyboard alone', async () => {
  const keyboardContext = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const kb = await keyboardContext.newPage();
  watch(kb);
  await visit('/signup', kb);
  const focused = () => kb.evaluate(() => {
    const el = document.activeElement;
    return el ? (el.id || el.textContent.trim()) : '';
  });
  await kb.keyboard.press('Tab');
  assert.equal(await focused(), 'Skip to content', 'the skip link comes first');
  await kb.keyboard.press('Enter');
  assert.equal(await focused(), 'main', 'the skip link moves the focus to the content');
  for (let i = 0; i < 10 && (await focused()) !== 'signup-email'; i++) await kb.keyboard.press('Tab');
  assert.equal(await focused(), 'signup-email');
  await kb.keyboard.type('keyboard@example.com');
  await kb.keyboard.press('Tab');
  assert.equal(await focused(), 'signup-password');
  await kb.keyboard.type(PASSWORD);
  await kb.keyboard.press('Tab');
  assert.equal(await focused(), 'signup-show-password');
  await kb.keyboard.press('Tab');
  assert.equal(await focused(), 'Create account');
  const ring = await kb.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(ring, 'none', 'focus is visible');
  await kb.keyboard.press('Enter');
  await kb.getByRole('heading', { name: 'Check your email' }).waitFor();
  assert.ok(await eventually('the mail', () => mailedLink('keyboard@example.com', 'verify-email')));
  await shot('40-keyboard-signup', kb);
  await keyboardContext.close();
});

test('no page logged a console error', () => {
  assert.deepEqual(consoleErrors, []);
});
