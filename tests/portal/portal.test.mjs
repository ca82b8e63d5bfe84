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
// in, create a tenant (its dashboard is empty), a key (copied from the clipboard and used on the
// data plane); call models from the API explorer (a stream with its timings, usage and code
// snippets, tool calls, checks before sending, a data-plane error, a slow stream stopped
// half-way) and see those calls on the dashboard, which refreshes itself, and on this month's
// bill (Billing: a line per model, last month empty, the month's entries as CSV; a fee dated
// last month, whose invoice is drafted, finalized, printed, sent to Stripe by sluice on its own
// (a fake Stripe here, which checks its idempotency keys: the portal shows it awaiting payment
// with a link to pay it) and voided, which withdraws it at Stripe; drafted again, finalized,
// and marked paid by Stripe's signed notice, which the open invoice shows; a credit added;
// prepaid credit set, topped up, and bought by card on the fake Stripe's checkout page, whose
// signed payment notice adds it); invite a
// colleague, store a provider key (shown masked), read the audit log; invite a finance member,
// who sees bills, usage and the audit log but no key actions; make an access token,
// rotate and revoke the key, edit another one's name and models (and see the data plane follow);
// create a service account and trade its copied credentials for a token that
// calls the data plane, rotate and revoke it. The first account is a platform operator: it
// sees every tenant and creates a partner with a domain and an administrator, who (in a
// second session) edits the branding with its live preview, manages domains and
// administrators (a domain it adds is pending until proved: the page shows the TXT record to
// publish, a Verify that fails in words without it, and succeeds once a fake DNS server here
// serves it), creates a sub-tenant and issues a key there with the partner's prefix, sets a
// markup (refused first with three decimals) and a price on the rate card, and sees the
// sub-tenant's prices follow (the tenant's own owner saw the platform's earlier) and reads the
// month's statement per sub-tenant with its margin, and a sub-tenant's invoice with what the
// partner is charged at wholesale, sent to the partner's own Stripe customer and listed in the
// console with a Pay link; the partner's domain (added by the operator, so verified; mapped to 127.0.0.1 in Chromium) then
// shows only the partner's brand.
// Single sign-on goes through a fake GitHub (a tiny HTTP server here) and the session it opens
// can make changes. Then every page is visited for console errors, and sign-up is done again
// with the keyboard only.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createSocket } from 'node:dgram';
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
const PARTNER_ADMIN = 'pat@acme.test';
const PARTNER_DOMAIN = 'ai.acme.test';
const SSO_EMAIL = 'sso-user@example.org';
const FINANCE = 'finn@example.com';
// What sluice is configured with for the fake Stripe.
const STRIPE_SECRET_KEY = 'sk_test_portal_e2e_0123456789';
const STRIPE_WEBHOOK_SECRET = 'whsec_portal_e2e_0123456789';
// A logo and a favicon inline, as partners may give them (no text in them).
const svg = (fill) => `data:image/svg+xml;base64,${Buffer.from(
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><circle cx="12" cy="12" r="10" fill="${fill}"/></svg>`,
).toString('base64')}`;
const PARTNER_LOGO = svg('#0a7d32');
const PARTNER_FAVICON = svg('#f59e0b');
// The flags measured to work on our machines (shared/TOOLCHAIN.md), and the partner's domain
// mapped to this machine.
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  `--host-resolver-rules=MAP ${PARTNER_DOMAIN} 127.0.0.1`,
];

let server;
let serverLog = '';
let base;
let port;
let idp;
let dns;
let stripe;
let workdir;
let browser;
let context;
let page;
const consoleErrors = [];
// Console errors a step provokes on purpose (Chromium logs every 4xx answer of a fetch).
const expectedConsoleErrors = [
  // The budget alerts' webhook answers 404 while none is set, and the tenant's Limits page and
  // the partner console ask for it.
  /\/limits: Failed to load resource: .* 404 /,
  /\/partners\/[0-9a-f-]+: Failed to load resource: .* 404 /,
];
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
    if (message.type() !== 'error') return;
    const text = `${target.url()}: ${message.text()}`;
    if (!expectedConsoleErrors.some((it) => it.test(text))) consoleErrors.push(text);
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

/**
 * A tiny authoritative DNS server over UDP answering TXT queries from `records` (name → values),
 * NXDOMAIN otherwise, like the one in tests/src/fake_dns.rs: sluice reads domain proofs from it.
 */
async function startFakeDns() {
  const records = new Map();
  const socket = createSocket('udp4');
  socket.on('message', (query, from) => {
    if (query.length < 12) return;
    const labels = [];
    let at = 12;
    while (at < query.length && query[at] !== 0) {
      labels.push(query.subarray(at + 1, at + 1 + query[at]).toString('latin1').toLowerCase());
      at += 1 + query[at];
    }
    const end = at + 5; // The root label, then type and class.
    const question = query.subarray(12, end);
    const type = query.readUInt16BE(at + 1);
    const values = records.get(labels.join('.'));
    const answers = values && type === 16 ? values : [];
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2);
    header[2] = 0x84 | (query[2] & 0x79);
    header[3] = 0x80 | (values ? 0 : 3);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const parts = [header, question];
    for (const value of answers) {
      const text = Buffer.from(value);
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(16, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(0, 6);
      rr.writeUInt16BE(text.length + 1, 10);
      parts.push(rr, Buffer.from([text.length]), text);
    }
    socket.send(Buffer.concat(parts), from.port, from.address);
  });
  await new Promise((ok) => socket.bind(0, '127.0.0.1', ok));
  return { socket, records, address: `127.0.0.1:${socket.address().port}` };
}

/** A fake GitHub OAuth app: consents at once as SSO_EMAIL, like the one in tests/src/fake_idp.rs. */
async function startFakeGithub() {
  const codes = new Map();
  const tokens = new Map();
  const json = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const fake = createHttpServer(async (req, res) => {
    const url = new URL(req.url, 'http://idp');
    if (url.pathname === '/login/oauth/authorize') {
      const code = randomBytes(12).toString('hex');
      codes.set(code, SSO_EMAIL);
      const back = new URL(url.searchParams.get('redirect_uri'));
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state'));
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === '/login/oauth/access_token' && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const code = new URLSearchParams(body).get('code');
      const email = codes.get(code);
      codes.delete(code);
      if (!email) return json(res, 400, { error: 'invalid_grant' });
      const token = randomBytes(16).toString('hex');
      tokens.set(token, email);
      return json(res, 200, { access_token: token, token_type: 'Bearer', scope: 'read:user,user:email' });
    }
    const email = tokens.get(String(req.headers.authorization || '').replace(/^Bearer /i, ''));
    if (!email) return json(res, 401, { message: 'Bad credentials' });
    if (url.pathname === '/api/user') return json(res, 200, { id: 4242, login: 'sso-user', name: 'Sso User' });
    if (url.pathname === '/api/user/emails') return json(res, 200, [{ email, primary: true, verified: true }]);
    return json(res, 404, { message: 'Not Found' });
  });
  await new Promise((ok) => fake.listen(0, '127.0.0.1', ok));
  return { server: fake, url: `http://127.0.0.1:${fake.address().port}` };
}

/**
 * A fake Stripe over HTTP, like the one in tests/src/fake_stripe.rs: the parts of its API sluice
 * uses (customers, invoices, invoice items, finalize, void, delete), answering objects in
 * Stripe's shape (sluice parses them into typed ones), replaying the first answer to a repeated
 * `Idempotency-Key` (refusing one reused with other parameters), and keeping every request for
 * the test to check. An invoice with something to pay is finalized `open`, due in 30 days, with
 * its hosted page here.
 */
async function startFakeStripe() {
  const requests = [];
  const answered = new Map(); // Idempotency-Key → { fingerprint, status, body }
  const customers = [];
  const invoices = [];
  const items = [];
  const checkouts = [];
  const problems = [];
  const now = () => Math.floor(Date.now() / 1000);
  const failure = (status, message, type = 'invalid_request_error') => [status, { error: { type, message } }];
  const metadata = (form) => Object.fromEntries([...form]
    .filter(([key]) => key.startsWith('metadata[') && key.endsWith(']'))
    .map(([key, value]) => [key.slice('metadata['.length, -1), value]));
  let url;

  function carryOut(method, parts, form) {
    const [kind, id, action] = parts;
    if (method === 'POST' && kind === 'customers' && parts.length === 1) {
      const customer = {
        id: `cus_${customers.length + 1}`, object: 'customer', created: now(), livemode: false,
        name: form.get('name'), metadata: metadata(form),
      };
      customers.push(customer);
      return [200, customer];
    }
    if (method === 'POST' && kind === 'invoices' && parts.length === 1) {
      const customer = form.get('customer');
      if (!customers.some((it) => it.id === customer)) return failure(400, 'No such customer');
      const invoice = stripeInvoice(`in_${invoices.length + 1}`, customer, form.get('currency') || 'usd');
      Object.assign(invoice, {
        metadata: metadata(form),
        description: form.get('description'),
        auto_advance: form.get('auto_advance') === 'true',
        collection_method: form.get('collection_method') || 'charge_automatically',
        days_until_due: form.has('days_until_due') ? Number(form.get('days_until_due')) : null,
      });
      invoices.push(invoice);
      return [200, invoice];
    }
    if (method === 'POST' && kind === 'invoiceitems' && parts.length === 1) {
      const invoice = invoices.find((it) => it.id === form.get('invoice'));
      if (!invoice) return failure(400, 'No such invoice');
      if (invoice.status !== 'draft') return failure(400, 'The invoice is not a draft');
      const amount = Number(form.get('amount'));
      if (!Number.isInteger(amount)) return failure(400, 'Invalid integer: amount');
      if (form.get('currency') !== invoice.currency) return failure(400, 'Currency mismatch');
      const at = now();
      const item = {
        id: `ii_${items.length + 1}`, object: 'invoiceitem', amount, currency: invoice.currency,
        customer: form.get('customer'), date: at, description: form.get('description'),
        discountable: true, invoice: invoice.id, livemode: false, metadata: {},
        period: { start: at, end: at }, proration: false, quantity: 1, quantity_decimal: '1',
      };
      items.push(item);
      for (const name of ['total', 'subtotal', 'amount_due', 'amount_remaining']) invoice[name] += amount;
      return [200, item];
    }
    const invoice = kind === 'invoices' && invoices.find((it) => it.id === id);
    if (method === 'POST' && kind === 'invoices' && action === 'finalize') {
      if (!invoice) return failure(404, 'No such invoice');
      if (invoice.status !== 'draft') return failure(400, 'This invoice is already finalized');
      invoice.status = invoice.total <= 0 ? 'paid' : 'open';
      invoice.number = `FAKE-${invoice.id}`;
      invoice.hosted_invoice_url = `${url}/i/${invoice.id}`;
      if (invoice.collection_method === 'send_invoice') invoice.due_date = now() + 30 * 86_400;
      return [200, invoice];
    }
    if (method === 'POST' && kind === 'invoices' && action === 'void') {
      if (!invoice) return failure(404, 'No such invoice');
      if (invoice.status !== 'open') return failure(400, 'Only open invoices can be voided');
      invoice.status = 'void';
      return [200, invoice];
    }
    if (method === 'DELETE' && kind === 'invoices' && parts.length === 2) {
      if (!invoice) return failure(404, 'No such invoice');
      if (invoice.status !== 'draft') return failure(400, 'Only drafts can be deleted');
      invoices.splice(invoices.indexOf(invoice), 1);
      return [200, { id, object: 'invoice', deleted: true }];
    }
    if (method === 'POST' && kind === 'checkout' && id === 'sessions') {
      const customer = form.get('customer');
      if (!customers.some((it) => it.id === customer)) return failure(400, 'No such customer');
      const amount = Number(form.get('line_items[0][price_data][unit_amount]'));
      if (form.get('mode') !== 'payment' || !Number.isInteger(amount) || !form.get('success_url')) {
        return failure(400, 'Missing required param: mode, unit_amount or success_url.');
      }
      const created = now();
      const session = {
        id: `cs_test_${checkouts.length + 1}`, object: 'checkout.session', created, expires_at: created + 86_400,
        livemode: false, mode: 'payment', status: 'open', payment_status: 'unpaid', customer,
        currency: form.get('line_items[0][price_data][currency]'), amount_total: amount, amount_subtotal: amount,
        automatic_tax: { enabled: false, liability: null, provider: null, status: null },
        custom_fields: [], custom_text: {}, shipping_options: [], payment_method_types: ['card'],
        metadata: metadata(form), success_url: form.get('success_url'), cancel_url: form.get('cancel_url'),
        url: `${url}/c/pay/cs_test_${checkouts.length + 1}`,
        // What the payment it takes will carry (payment_intent_data[metadata]).
        intent_metadata: Object.fromEntries([...form]
          .filter(([name]) => name.startsWith('payment_intent_data[metadata]['))
          .map(([name, value]) => [name.slice('payment_intent_data[metadata]['.length, -1), value])),
      };
      checkouts.push(session);
      return [200, session];
    }
    problems.push(`unexpected ${method} /v1/${parts.join('/')}`);
    return failure(404, 'Unrecognized request URL');
  }

  const fake = createHttpServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const path = new URL(req.url, 'http://stripe').pathname;
    if (req.method === 'GET' && path.startsWith('/i/')) {
      // The hosted invoice page, where the tenant would pay.
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(`<!doctype html><title>Pay ${path.slice(3)}</title><h1>Fake Stripe</h1>`);
    }
    if (req.method === 'GET' && path.startsWith('/c/pay/')) {
      // The checkout page: the card is taken here; "Pay" returns to the success URL.
      const session = checkouts.find((it) => it.id === path.slice('/c/pay/'.length));
      if (!session) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(`<!doctype html><link rel="icon" href="data:,"><title>Checkout ${session.id}</title><h1>Fake Stripe checkout</h1>`
        + `<p id="amount">${session.amount_total} ${session.currency}</p><a href="${session.success_url}">Pay</a>`);
    }
    const form = new URLSearchParams(body);
    const key = req.headers['idempotency-key'];
    const fingerprint = `${req.method} ${path} ${body}`;
    const request = { method: req.method, path, form: Object.fromEntries(form), idempotencyKey: key, replayed: false };
    let status;
    let answer;
    if (req.headers.authorization !== `Bearer ${STRIPE_SECRET_KEY}`) {
      [status, answer] = failure(401, 'Invalid API Key provided');
    } else if (key && answered.has(key)) {
      request.replayed = true;
      const first = answered.get(key);
      [status, answer] = first.fingerprint === fingerprint
        ? [first.status, JSON.parse(first.body)]
        : failure(400, 'Keys for idempotent requests can only be used with the same parameters they were first used with.', 'idempotency_error');
    } else {
      if (req.method === 'POST' && !key) problems.push(`${req.method} ${path} without an idempotency key`);
      [status, answer] = path.startsWith('/v1/')
        ? carryOut(req.method, path.slice('/v1/'.length).split('/'), form)
        : failure(404, 'Unrecognized request URL');
      if (key) answered.set(key, { fingerprint, status, body: JSON.stringify(answer) });
    }
    requests.push(request);
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${requests.length}` });
    res.end(JSON.stringify(answer));
  });
  await new Promise((ok) => fake.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${fake.address().port}`;
  return { server: fake, url, requests, customers, invoices, items, checkouts, problems };
}

/** An invoice in Stripe's shape, with every field sluice's parser requires. */
function stripeInvoice(id, customer, currency) {
  const at = Math.floor(Date.now() / 1000);
  return {
    id, object: 'invoice', customer, currency,
    amount_due: 0, amount_overpaid: 0, amount_paid: 0, amount_remaining: 0,
    amount_shipping: 0, attempt_count: 0, attempted: false,
    automatic_tax: { enabled: false }, collection_method: 'send_invoice',
    created: at, default_tax_rates: [], discounts: [], issuer: { type: 'self' },
    lines: { object: 'list', data: [], has_more: false, url: `/v1/invoices/${id}/lines` },
    livemode: false, metadata: {}, payment_settings: {}, period_end: at,
    period_start: at, post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0, starting_balance: 0, status: 'draft',
    status_transitions: {}, subtotal: 0, total: 0,
  };
}

/** Posts a Stripe event about `object` to sluice's webhook, signed as Stripe signs it. */
async function stripeNotice(type, object, secret = STRIPE_WEBHOOK_SECRET) {
  const created = Math.floor(Date.now() / 1000);
  const payload = JSON.stringify({
    id: `evt_${randomBytes(12).toString('hex')}`, object: 'event', api_version: '2025-11-17.clover',
    created, livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null },
    type, data: { object },
  });
  const signature = createHmac('sha256', secret).update(`${created}.${payload}`).digest('hex');
  const res = await fetch(`${base}/api/v1/billing/stripe/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': `t=${created},v1=${signature}` },
    body: payload,
  });
  return { status: res.status, body: await res.json() };
}

/** GET /api/v1/branding as `host` would see it (fetch may not set the Host header). */
function brandingOf(host) {
  return new Promise((ok, fail) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/api/v1/branding', headers: { host } }, (res) => {
      let body = '';
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => ok(JSON.parse(body)));
    });
    req.on('error', fail);
    req.end();
  });
}

/** The data plane's answer to a chat call with `bearer`. */
async function chat(bearer, content = 'x') {
  return fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock', messages: [{ role: 'user', content }] }),
  });
}

/** Signs `email` up and verifies it through the API and the mailed link, without a browser. */
async function signUpThroughApi(email, displayName) {
  const res = await fetch(`${base}/api/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD, display_name: displayName }),
  });
  assert.equal(res.status, 201, await res.text());
  const link = await eventually('the verification mail', () => mailedLink(email, 'verify-email'));
  const token = new URL(link).searchParams.get('token');
  const verified = await fetch(`${base}/api/v1/auth/verify-email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  assert.equal(verified.status, 200, await verified.text());
}

/** The first day of the calendar month before this one in UTC: `2026-11-01`. */
function lastMonthStart() {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString().slice(0, 10);
}

/** The calendar month before this one in UTC, as the billing pages name it: `November 2026`. */
function lastMonthName() {
  const now = new Date();
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  return first.toLocaleString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
}

/** GET `url` from the page's context (its session cookie goes along): status, headers, body. */
async function fetchInPage(target, url) {
  return target.evaluate(async (href) => {
    const res = await fetch(href);
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      disposition: res.headers.get('content-disposition'),
      body: await res.text(),
    };
  }, url);
}

/** A figure of the portal's as a number (counts are grouped with narrow spaces). */
const figure = (text) => Number(String(text).replace(/\D/g, ''));

/** Fills a budget row of the limits editor or a key form; fields left out keep their value. */
async function fillBudget(row, { period, counts, amount, alertAt }) {
  if (period) await row.getByLabel('Period').selectOption(period);
  if (counts) await row.getByLabel('Counts').selectOption(counts);
  if (amount !== undefined) await row.getByLabel('Amount').fill(amount);
  if (alertAt !== undefined) await row.getByLabel('Alert at (%)').fill(alertAt);
}

/** POST /oauth/token with client credentials (client_secret_basic, as the portal's curl). */
async function clientCredentials(clientId, clientSecret) {
  return fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
}

/** Dismisses the toasts, which sit over the right-hand side of the page, as a person would. */
async function dismissToasts(target = page) {
  const dismiss = target.getByRole('button', { name: 'Dismiss' });
  while (await dismiss.count()) await dismiss.first().click({ timeout: 1_000 }).catch(() => {});
}

/** A limit's bar on the page: `owner` and `kind` as the API names them. */
function limitBar(target, owner, kind, period) {
  const periodFilter = period ? `[data-period="${period}"]` : '';
  return target.locator(`li.limit-bar[data-owner="${owner}"][data-kind="${kind}"]${periodFilter}`);
}

/** A fresh browser session (its own cookies) that records console errors. */
async function newSession() {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const tab = await ctx.newPage();
  tab.setDefaultTimeout(15_000);
  watch(tab);
  return { ctx, tab };
}

before(async () => {
  assert.ok(BIN, 'SLUICE_BIN must name the sluice binary');
  mkdirSync(SHOTS, { recursive: true });
  workdir = mkdtempSync(join(tmpdir(), 'sluice-portal-'));
  idp = await startFakeGithub();
  dns = await startFakeDns();
  stripe = await startFakeStripe();
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

# What the mock costs the platform (its price: no platform markup), per million tokens.
[[pricing.cost]]
provider = "mock"
model = "mock"
input = "0.2"
output = "0.8"
cached_input = "0.05"

# The same, streaming a chunk every 250 ms: slow enough to watch and to stop.
[providers.slow]
kind = "mock"
chunk_delay_ms = 250

[[models]]
alias = "slow-mock"
provider = "slow"

# A model whose first deployment is down (nothing listens on port 9): calls fail over to the
# mock, and the first failure opens the primary's breaker.
[[models]]
alias = "routed"
breaker = { consecutive_failures = 1, cooldown_secs = 600 }
deployments = [
  { name = "primary", provider = "openai", model = "gpt-4o-mini", region = "eu" },
  { name = "backup", provider = "mock", model = "mock", priority = 1, region = "us" },
]

[sso.providers.github]
kind = "github"
client_id = "portal-e2e"
client_secret = "env:IDP_SECRET"
authorize_url = "${idp.url}/login/oauth/authorize"
token_url = "${idp.url}/login/oauth/access_token"
api_url = "${idp.url}/api"
`);
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    SLUICE_LISTEN: `127.0.0.1:${port}`,
    SLUICE_DATA_DIR: join(workdir, 'data'),
    SLUICE_LOG_FORMAT: 'json',
    SLUICE_LOG_LEVEL: 'info',
    SLUICE_MASTER_KEY: randomBytes(32).toString('base64'),
    IDP_SECRET: 'idp-secret',
    SLUICE_PARTNERS_DNS_RESOLVER: dns.address,
    // Finalized invoices are collected through the fake Stripe, sent within a second.
    SLUICE_STRIPE_SECRET_KEY: STRIPE_SECRET_KEY,
    SLUICE_STRIPE_WEBHOOK_SECRET: STRIPE_WEBHOOK_SECRET,
    SLUICE_STRIPE_API_BASE: `${stripe.url}/`,
    SLUICE_STRIPE_SINCE: '2000-01-01T00:00:00Z',
    SLUICE_STRIPE_DAYS_UNTIL_DUE: '30',
    SLUICE_STRIPE_GRACE_DAYS: '14',
    SLUICE_STRIPE_SYNC_MS: '300',
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
  idp?.server.close();
  dns?.socket.close();
  stripe?.server.close();
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

step('a new tenant\'s dashboard says there are no requests yet', async () => {
  await page.getByRole('link', { name: 'Dashboard' }).click();
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
  await page.getByText('No requests yet — try the API explorer').waitFor();
  assert.equal(await page.locator('#total-requests').textContent(), '0');
  await page.getByRole('link', { name: 'Open the API explorer' }).waitFor();
});

step('create an API key and copy it', async () => {
  await page.getByRole('link', { name: 'API keys' }).click();
  await page.getByRole('button', { name: 'Create key' }).click();
  await page.getByLabel('Name').fill('ci');
  await page.getByLabel('Allowed models').fill('mock');
  await page.getByLabel('Chat completions').check();
  await page.getByLabel('Expires').selectOption('30');
  await page.getByLabel('Monthly budget (USD)').fill('25');
  // A budget per period: a bad amount is refused on its own input, the form kept.
  await page.locator('#key-add-budget').click();
  const budget = page.locator('.budget-row').first();
  await fillBudget(budget, { period: 'week', amount: '-1', alertAt: '50, 100' });
  await page.getByRole('button', { name: 'Create key' }).click();
  await budget.locator('.field-error').waitFor();
  await budget.getByLabel('Amount').fill('500');
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
  await page.locator('.keys-table').getByText('Limits: $25.00/month, 500/week').waitFor();
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

step('Get started: the base URLs, and a first call whose curl, run with the copied key, answers', async () => {
  await page.getByRole('link', { name: 'Get started' }).click();
  await page.getByRole('heading', { level: 1, name: 'Get started' }).waitFor();
  assert.equal((await page.locator('#base-url-openai').textContent()).trim(), `${base}/v1`);
  assert.equal((await page.locator('#base-url-anthropic').textContent()).trim(), base);
  await page.getByRole('link', { name: 'API keys', exact: true }).first().waitFor();
  await page.locator('#start-model').selectOption('mock');
  const curl = await page.locator('[data-snippet="curl"] code').textContent();
  assert.ok(curl.includes('"model": "mock"'), curl);
  assert.ok(!/sluice/i.test(curl), 'the snippet names no platform');
  // The snippet as a user would paste it into a shell, with the key in its variable.
  const out = execFileSync('bash', ['-c', curl], { env: { ...process.env, GATEWAY_API_KEY: state.key }, encoding: 'utf8', timeout: 20_000 });
  assert.match(JSON.parse(out).choices[0].message.content, /Say hello in five words/);
  // Every way is there, each with its own copy button.
  assert.deepEqual(await page.locator('.start-snippet h3').allTextContents(),
    ['curl', 'Python (OpenAI SDK)', 'JavaScript (OpenAI SDK)', 'Python (Anthropic SDK)', 'JavaScript (Anthropic SDK)']);
  await page.locator('[data-snippet="anthropic-python"]').getByRole('button', { name: 'Copy Python (Anthropic SDK)' }).click();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.ok(copied.includes('from anthropic import Anthropic') && copied.includes(`base_url="${base}"`), copied);
  await dismissToasts();
  await shot('07b-get-started');
});

step('the API explorer streams an answer as the signed-in user, with status, timings, usage and the call as code', async () => {
  await page.getByRole('link', { name: 'API explorer' }).click();
  await page.getByRole('heading', { level: 1, name: 'API explorer' }).waitFor();
  const model = page.getByLabel('Model', { exact: true });
  await eventually('the tenant\'s models', async () =>
    (await model.locator('option').allTextContents()).includes('mock'));
  await model.selectOption('mock');
  await page.getByLabel('Message 1', { exact: true }).fill('Hello from the explorer, "quoted" & ünïcode');
  assert.ok(await page.getByLabel('Stream the answer').isChecked(), 'streaming is the default');
  await page.getByRole('button', { name: 'Send request' }).click();
  await page.locator('#explorer-answer', { hasText: 'This is a mock reply to: Hello from the explorer' }).waitFor();
  await page.locator('.phase', { hasText: 'Done' }).waitFor();
  assert.equal(await page.locator('#explorer-status').textContent(), '200');
  assert.match(await page.locator('#explorer-latency').textContent(), /^\d+(\.\d)? m?s$/);
  assert.match(await page.locator('#explorer-ttft').textContent(), /^\d+(\.\d)? m?s$/);
  const tokens = (await page.locator('#explorer-tokens').textContent()).match(/^(\d+) in · (\d+) out$/);
  assert.ok(tokens && Number(tokens[1]) > 0 && Number(tokens[2]) > 0, `token usage: ${tokens}`);
  // It was a stream: the answer came in several chunks, and the request asked for usage.
  const raw = page.locator('summary', { hasText: /^Raw stream chunks \(\d+\)$/ });
  assert.ok(Number((await raw.textContent()).match(/\d+/)[0]) > 3, 'several chunks');
  await page.locator('summary', { hasText: 'Request JSON' }).click();
  const sent = JSON.parse(await page.locator('#explorer-request-json').textContent());
  assert.deepEqual(sent.stream_options, { include_usage: true });
  assert.equal(sent.messages[0].content, 'Hello from the explorer, "quoted" & ünïcode');
  await page.locator('summary', { hasText: 'Response JSON' }).click();
  const assembled = JSON.parse(await page.locator('#explorer-response-json').textContent());
  assert.match(assembled.choices[0].message.content, /Hello from the explorer/);
  assert.equal(assembled.usage.completion_tokens, Number(tokens[2]));

  // The same call as code, with the key from the environment and never the explorer's token.
  await page.getByRole('tab', { name: 'curl' }).click();
  const curl = await page.locator('#snippet-code').textContent();
  assert.ok(curl.startsWith(`curl -N ${base}/v1/chat/completions`), curl);
  assert.ok(curl.includes('"model": "mock"') && curl.includes('$GATEWAY_API_KEY'), curl);
  assert.ok(!curl.includes('eyJ'), 'no token in the snippet');
  await page.getByRole('tab', { name: 'curl' }).press('ArrowRight');
  assert.equal(await page.getByRole('tab', { name: 'Python' }).getAttribute('aria-selected'), 'true');
  const python = await page.locator('#snippet-code').textContent();
  assert.ok(python.includes(`base_url="${base}/v1"`) && python.includes('os.environ["GATEWAY_API_KEY"]'), python);
  await page.getByRole('tab', { name: 'JavaScript' }).click();
  assert.ok((await page.locator('#snippet-code').textContent()).includes('stream_options: { include_usage: true }'));
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
  assert.ok(!stored.includes('eyJ'), 'the token is kept in memory only');
  await shot('08a-explorer');
});

step('the explorer checks tools before sending, shows tool calls, and the data plane\'s errors in words', async () => {
  const tools = page.getByLabel('Tools (JSON)');
  await tools.fill('[{"type": "function", ');
  await page.getByRole('button', { name: 'Send request' }).click();
  await page.getByText('Tools must be valid JSON').waitFor();
  assert.match(await page.locator('#explorer-answer').textContent(), /Hello from the explorer/, 'nothing was sent');
  await page.getByLabel('Temperature').fill('3');
  await page.getByRole('button', { name: 'Send request' }).click();
  await page.getByText('Temperature is a number from 0 to 2').waitFor();
  await page.getByLabel('Temperature').fill('0.2');
  await page.getByRole('button', { name: 'Insert an example' }).click();
  await page.getByRole('button', { name: 'Send request' }).click();
  await page.locator('.tool-call .tool-name', { hasText: 'get_weather' }).waitFor();
  await page.locator('.phase', { hasText: 'Done' }).waitFor();
  assert.equal(await page.locator('#explorer-status').textContent(), '200');
  await shot('08b-explorer-tool-call');

  // An unknown model: the data plane's 404, in its own words.
  expectedConsoleErrors.push(/\/explorer: Failed to load resource: .* 404 /);
  await tools.fill('');
  await page.getByLabel('Model', { exact: true }).selectOption({ label: 'Another model…' });
  await page.getByLabel('Model name').fill('no-such-model');
  await page.getByLabel('Stream the answer').uncheck();
  await page.getByRole('button', { name: 'Send request' }).click();
  await page.locator('#explorer-error', { hasText: 'The model `no-such-model` does not exist' }).waitFor();
  assert.equal(await page.locator('#explorer-status').textContent(), '404');
  await shot('08c-explorer-error');
});

step('the explorer shows a slow stream as it arrives, and Stop ends it', async () => {
  await page.getByLabel('Model', { exact: true }).selectOption('slow-mock');
  await page.getByLabel('Stream the answer').check();
  const words = Array.from({ length: 30 }, (_, i) => `word${i + 1}`).join(' ');
  await page.getByLabel('Message 1', { exact: true }).fill(words);
  await page.getByRole('button', { name: 'Send request' }).click();
  const answer = page.locator('#explorer-answer');
  await answer.waitFor();
  const first = await answer.textContent();
  await eventually('more of the answer to stream in', async () => (await answer.textContent()).length > first.length);
  await page.locator('.phase', { hasText: 'Receiving' }).waitFor();
  assert.match(await page.locator('#explorer-ttft').textContent(), /^\d+(\.\d)? m?s$/, 'TTFT while streaming');
  assert.equal(await page.locator('#explorer-latency').textContent(), '…');
  await shot('08d-explorer-streaming');
  await page.getByRole('button', { name: 'Stop' }).click();
  await page.locator('.phase', { hasText: 'Stopped' }).waitFor();
  const stopped = await answer.textContent();
  assert.ok(!stopped.includes('word30'), stopped);
  await sleep(700);
  assert.equal(await answer.textContent(), stopped, 'nothing arrives after Stop');
  await page.getByRole('button', { name: 'Send request' }).waitFor();
});

step('the explorer says which deployment answered; Models and routes shows the failover and the open breaker', async () => {
  await page.getByRole('link', { name: 'API explorer' }).click();
  await page.getByRole('heading', { level: 1, name: 'API explorer' }).waitFor();
  const model = page.getByLabel('Model', { exact: true });
  await eventually('the routed model', async () =>
    (await model.locator('option').allTextContents()).includes('routed'));
  await model.selectOption('routed');
  await page.getByLabel('Message 1', { exact: true }).fill('Fail over, please');
  await page.getByRole('button', { name: 'Send request' }).click();
  await page.locator('#explorer-answer', { hasText: 'This is a mock reply to: Fail over, please' }).waitFor();
  await page.locator('.phase', { hasText: 'Done' }).waitFor();
  assert.equal(await page.locator('#explorer-served').textContent(), 'backup (2nd try)');
  await shot('08e1-explorer-failover');

  await page.getByRole('link', { name: 'Models and routes' }).click();
  await page.getByRole('heading', { level: 1, name: 'Models and routes' }).waitFor();
  const routed = page.locator('section[data-model="routed"]');
  await routed.waitFor();
  const primary = routed.locator('tr[data-deployment="primary"]');
  await primary.getByText('breaker open').waitFor();
  assert.equal((await primary.locator('td.share').textContent()).trim(), '100%');
  const backup = routed.locator('tr[data-deployment="backup"]');
  assert.equal((await backup.locator('td.share').textContent()).trim(), 'fallback');
  await backup.getByText('healthy').waitFor();
  assert.match(await backup.textContent(), /\d+ ms/, 'the backup\'s latency is measured');
  const mock = page.locator('section[data-model="mock"]');
  assert.equal((await mock.locator('td.share').textContent()).trim(), '100%');
  await shot('08e2-models-and-routes');
});

step('the dashboard shows the explorer\'s requests within seconds, by model and by key', async () => {
  await page.getByRole('link', { name: 'Dashboard' }).click();
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
  // Usage is written in batches; the open dashboard refreshes itself.
  await eventually('the explorer\'s requests in the totals', async () => {
    const text = await page.locator('#total-requests').textContent().catch(() => '');
    return Number(text.replace(/\D/g, '')) >= 3;
  }, 30_000);
  const breakdown = page.locator('.breakdown-table');
  await breakdown.getByRole('rowheader', { name: 'mock', exact: true }).waitFor();
  await breakdown.getByRole('rowheader', { name: 'slow-mock', exact: true }).waitFor();
  // The newest explorer request is the one that failed over: its row says so.
  const recent = page.locator('.recent-table tbody tr', { hasText: `Explorer · ${EMAIL}` }).first();
  await recent.getByText('routed').waitFor({ timeout: 20_000 });
  await recent.getByText('1 failed try').waitFor();
  const charts = page.locator('.chart svg[role=img]');
  assert.equal(await charts.count(), 4);
  assert.match(await charts.first().getAttribute('aria-label'), /^Requests per 15 minutes\. requests: \d+ in total/);
  await shot('08e-dashboard');
  await page.getByRole('button', { name: 'By key' }).click();
  await breakdown.getByRole('rowheader', { name: `Explorer · ${EMAIL}`, exact: true }).waitFor();
  await breakdown.getByRole('rowheader', { name: 'ci', exact: true }).waitFor();
  await page.getByLabel('Window', { exact: true }).selectOption('1h');
  await eventually('the last hour\'s charts', async () =>
    /^Requests per minute\./.test(await charts.first().getAttribute('aria-label').catch(() => '')));

  await page.emulateMedia({ colorScheme: 'dark' });
  await shot('08f-dashboard-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  const phone = await context.newPage();
  watch(phone);
  await phone.setViewportSize({ width: 375, height: 812 });
  for (const [path, name] of [['/dashboard', 'dashboard'], ['/explorer', 'explorer']]) {
    await visit(path, phone);
    await phone.locator(name === 'dashboard' ? '.chart svg' : '#explorer-model').first().waitFor();
    assert.ok(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1),
      `the ${name} fits a phone`);
    await shot(`08g-${name}-phone`, phone);
  }
  await phone.close();
});

step('a tenant admin defines an alias with a preview of its split, calls it from the explorer, and deletes it', async () => {
  await page.getByRole('link', { name: 'Models and routes' }).click();
  await page.getByRole('heading', { level: 1, name: 'Models and routes' }).waitFor();
  await page.getByRole('button', { name: 'New alias' }).click();
  const editor = page.locator('section.route-editor');
  await editor.waitFor();
  // A platform model's name is refused, in words, on the field (the browser logs the 400).
  expectedConsoleErrors.push(/\/models: Failed to load resource: .* 400 /);
  await editor.getByLabel('Alias').fill('mock');
  await editor.getByRole('button', { name: 'Save alias' }).click();
  await editor.locator('#route-alias-error', { hasText: 'platform' }).waitFor();

  await editor.getByLabel('Alias').fill('team-fast');
  await editor.locator('#route-strategy').selectOption('weighted');
  await editor.locator('#route-row-0-model').selectOption('routed');
  await editor.locator('#route-row-0-deployment').selectOption('backup');
  await editor.locator('#route-row-0-weight').fill('3');
  await editor.getByRole('button', { name: 'Add deployment' }).click();
  await editor.locator('#route-row-1-model').selectOption('mock');
  const shares = editor.locator('.route-preview td.share');
  await eventually('the preview follows the weights', async () =>
    JSON.stringify(await shares.allTextContents()) === JSON.stringify(['75%', '25%']));
  await shot('08f1-alias-editor');
  await editor.getByRole('button', { name: 'Save alias' }).click();
  const row = page.locator('tr[data-alias="team-fast"]');
  await row.waitFor();
  assert.equal((await row.locator('td').nth(1).textContent()).trim(), 'backup, mock');
  const card = page.locator('section[data-model="team-fast"]');
  await card.getByText('your alias').waitFor();
  await shot('08f2-own-alias');

  await page.getByRole('link', { name: 'API explorer' }).click();
  const model = page.getByLabel('Model', { exact: true });
  await eventually('the alias among the models', async () =>
    (await model.locator('option').allTextContents()).includes('team-fast'));
  await model.selectOption('team-fast');
  await page.getByLabel('Message 1', { exact: true }).fill('Through my alias');
  await page.getByRole('button', { name: 'Send request' }).click();
  await page.locator('#explorer-answer', { hasText: 'This is a mock reply to: Through my alias' }).waitFor();
  assert.match(await page.locator('#explorer-served').textContent(), /^(backup|mock)/);

  await page.getByRole('link', { name: 'Models and routes' }).click();
  await page.locator('tr[data-alias="team-fast"]').getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('button', { name: 'Delete alias' }).click();
  await page.locator('tr[data-alias="team-fast"]').waitFor({ state: 'detached' });
});

step('data residency: keeping the tenant\'s calls in one region steers them and refuses models with nothing there', async () => {
  await page.getByRole('link', { name: 'Models and routes' }).click();
  await page.getByRole('heading', { level: 2, name: 'Data residency' }).waitFor();
  assert.match(await page.locator('#residency-now').textContent(), /any region/);
  await page.getByLabel('us', { exact: true }).check();
  await page.getByRole('button', { name: 'Save regions' }).click();
  await page.locator('#residency-now', { hasText: 'only to deployments in: us' }).waitFor();
  await shot('08g-residency');

  await page.getByRole('link', { name: 'API explorer' }).click();
  const model = page.getByLabel('Model', { exact: true });
  await eventually('the routed model', async () =>
    (await model.locator('option').allTextContents()).includes('routed'));
  await model.selectOption('routed');
  await page.getByLabel('Message 1', { exact: true }).fill('Stay in the us');
  await page.getByRole('button', { name: 'Send request' }).click();
  await page.locator('#explorer-answer', { hasText: 'This is a mock reply to: Stay in the us' }).waitFor();
  assert.match(await page.locator('#explorer-served').textContent(), /^backup/, 'the eu deployment is not tried');

  await page.getByRole('link', { name: 'Models and routes' }).click();
  await page.getByLabel('us', { exact: true }).uncheck();
  await page.getByRole('button', { name: 'Save regions' }).click();
  await page.locator('#residency-now', { hasText: 'any region' }).waitFor();
});

step('semantic cache: the tenant sets its own threshold, checked, and sees it saved', async () => {
  await page.getByRole('link', { name: 'Models and routes' }).click();
  await page.getByRole('heading', { level: 2, name: 'Semantic cache' }).waitFor();
  assert.match(await page.locator('#semantic-cache-now').textContent(), /Each model's own/);
  const field = page.getByLabel('Similarity threshold', { exact: true });
  await field.fill('0.3');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText('Enter a number from 0.5 to 1.0.').waitFor();
  await field.fill('0.97');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.locator('#semantic-cache-now', { hasText: 'at least 0.97' }).waitFor();
  await shot('08h-semantic-cache');

  // Saved: the page shows it again after leaving and coming back.
  await page.getByRole('link', { name: 'Members' }).click();
  await page.getByRole('link', { name: 'Models and routes' }).click();
  await page.locator('#semantic-cache-now', { hasText: 'at least 0.97' }).waitFor();
  assert.equal(await page.getByLabel('Similarity threshold', { exact: true }).inputValue(), '0.97');
  await page.getByLabel('Similarity threshold', { exact: true }).fill('');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.locator('#semantic-cache-now', { hasText: "Each model's own" }).waitFor();
});

step('Prices: a member sees what each model costs the tenant per million tokens', async () => {
  await page.getByRole('link', { name: 'Prices', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Prices', exact: true }).waitFor();
  await page.locator('code', { hasText: 'x-request-cost' }).waitFor();
  const mock = page.locator('section[data-model="mock"] tr[data-deployment="mock"]');
  await mock.waitFor();
  const rates = await mock.locator('td.rate').allTextContents();
  assert.deepEqual(rates.slice(0, 3), ['0.2', '0.8', '0.05']);
  assert.match(rates[3], /^0\.2 \(the input rate\)$/, 'cache writes cost the input rate');
  await page.locator('section[data-model="slow-mock"] tr[data-deployment="slow"]').getByText('not priced').waitFor();
  await shot('08i-prices');
});

step('Billing: the owner sees this month\'s running bill by model, an empty last month, and downloads the month\'s entries', async () => {
  await page.getByRole('link', { name: 'Billing', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Billing', exact: true }).waitFor();
  const period = page.getByLabel('Billing period');
  assert.equal((await period.locator('option:checked').textContent()).trim(), 'This month');
  assert.equal(await period.locator('option').count(), 12, 'this month and the eleven before');
  // The dashboard showed the calls already: the statement reads the same rollups.
  const requests = page.locator('#bill-requests');
  await requests.waitFor();
  assert.ok(figure(await requests.textContent()) > 0, 'this month\'s calls are billed');
  assert.match(await page.locator('#bill-price').textContent(), /^\d+(\.\d+)? USD$/);
  assert.ok(figure(await page.locator('#bill-prompt-tokens').textContent()) > 0);
  assert.ok(figure(await page.locator('#bill-completion-tokens').textContent()) > 0);
  await page.locator('.billing-running', { hasText: 'is still running' }).waitFor();
  const mock = page.locator('.bill-lines tbody tr[data-model="mock"]');
  await mock.getByRole('rowheader', { name: 'mock', exact: true }).waitFor();
  const cells = await mock.locator('td').allTextContents();
  assert.equal(cells.length, 6, 'requests, errors, prompt, completion, cached tokens and price');
  assert.ok(figure(cells[0]) > 0, `calls of mock: ${cells}`);
  assert.match(cells[5], /^\d+(\.\d+)? USD/);
  // The slow mock has no price: its line says so.
  assert.match(await page.locator('.bill-lines tr[data-model="slow-mock"] td.price').textContent(), /unpriced/);

  // The month's entries: a link the browser saves, answered by the export as CSV.
  const csv = page.getByRole('link', { name: 'Download CSV' });
  const href = await csv.getAttribute('href');
  assert.match(href, /^\/api\/v1\/tenants\/[0-9a-f-]{36}\/billing\/export\?from=\d{4}-\d{2}-01T00%3A00%3A00Z&to=\d{4}-\d{2}-01T00%3A00%3A00Z&format=csv$/);
  assert.notEqual(await csv.getAttribute('download'), null, 'a download, not a page');
  const file = await fetchInPage(page, href);
  assert.equal(file.status, 200, file.body);
  assert.match(file.type, /^text\/csv/);
  assert.match(file.disposition, /^attachment; filename="usage-[0-9a-f-]+-\d{4}-\d{2}-01-\d{4}-\d{2}-01\.csv"$/);
  assert.ok(file.body.startsWith('id,created_at,'), file.body.slice(0, 120));
  assert.ok(file.body.trim().split('\n').length > figure(await requests.textContent()) - 1, 'a line per call');
  const json = await page.getByRole('link', { name: 'Download JSON' }).getAttribute('href');
  assert.equal(json, href.replace(/format=csv$/, 'format=json'));
  // The bill as a page to print, in a new tab: the same month, a self-contained HTML page.
  const printable = page.getByRole('link', { name: 'Printable bill' });
  const pageHref = await printable.getAttribute('href');
  assert.equal(pageHref, href.replace('/billing/export?', '/billing/statement.html?').replace(/&format=csv$/, ''));
  assert.equal(await printable.getAttribute('target'), '_blank');
  const printed = await fetchInPage(page, pageHref);
  assert.equal(printed.status, 200, printed.body);
  assert.match(printed.type, /^text\/html/);
  assert.match(printed.body, /Total due: \d+(\.\d+)? USD/);
  assert.ok(!printed.body.includes('<script'), 'no script on a bill');
  await shot('08i2-billing');

  // Last month: nothing billed yet, and the links follow the choice.
  await period.selectOption({ index: 1 });
  await page.getByText(`No calls in ${lastMonthName()}`, { exact: true }).waitFor();
  assert.equal(await requests.count(), 0);
  assert.equal(await page.locator('.billing-running').count(), 0, 'a past month is final');
  const lastMonth = await csv.getAttribute('href');
  assert.notEqual(lastMonth, href);
  assert.match(lastMonth, /&to=\d{4}-\d{2}-01T00%3A00%3A00Z&format=csv$/);
  assert.ok(href.includes(lastMonth.match(/to=([^&]+)/)[0].replace('to=', 'from=')), 'last month ends where this one starts');
  await shot('08i3-billing-last-month');
});

step('Invoices: the operator charges a fee on last month, drafts its invoice, finalizes it (numbered, frozen, printable, sent to Stripe to be paid) and voids it with a reason (withdrawn at Stripe)', async () => {
  // Last month had no calls: a fee dated in it gives its invoice something to pay.
  const fee = page.locator('form.correction-form');
  await fee.locator('#correction-kind').selectOption('adjustment');
  await fee.locator('#correction-amount').fill('12.5');
  await fee.locator('#correction-reason').fill('Onboarding fee');
  await fee.locator('#correction-day').fill(`${lastMonthStart().slice(0, 8)}15`);
  await fee.getByRole('button', { name: 'Add to the bill' }).click();
  await page.getByText(/^Added: 12\.5 on the bill of \d{4}-\d{2}-15\.$/).waitFor();
  await fee.locator('#correction-kind').selectOption('credit'); // As the steps after this one expect.
  // The month had no calls, and its bill says so, with the fee now due.
  await page.getByText(`No calls in ${lastMonthName()}`, { exact: true }).waitFor();
  await page.locator('section[aria-labelledby="bill-corrections-title"] .bill-corrections tr', { hasText: 'Onboarding fee' }).waitFor();
  assert.equal((await page.locator('#bill-due').textContent()).trim(), '12.5 USD');
  await dismissToasts();

  const invoices = page.locator('section[aria-labelledby="invoices-title"]');
  await invoices.getByText('No invoices yet').waitFor();
  await invoices.getByRole('button', { name: 'Draft last month\'s invoice' }).click();
  await page.getByText('Drafted last month\'s invoice').waitFor();
  const row = invoices.locator('tbody tr').first();
  await row.getByRole('rowheader', { name: 'Draft invoice' }).waitFor();
  assert.equal((await row.locator('td').first().textContent()).trim(), lastMonthName());
  assert.equal(await row.getAttribute('data-payment'), null, 'a draft is not sent for payment');
  assert.equal(await row.locator('td.payment [aria-hidden="true"]').textContent(), '—');
  const card = page.locator('section.invoice');
  await card.getByRole('heading', { name: 'Draft invoice' }).waitFor();
  await card.getByText('A draft: its amounts follow the usage recorded until it is finalized.').waitFor();
  await card.getByText('No calls in this period.').waitFor();
  await card.locator('.bill-corrections tbody tr', { hasText: 'Onboarding fee' }).waitFor();
  const sums = await card.locator('.invoice-sums th').allTextContents();
  assert.deepEqual(sums, ['Calls', 'Corrections', 'Total'], 'no late usage, no tax configured');
  assert.equal((await card.locator('.invoice-sums td').last().textContent()).trim(), '12.5 USD');
  assert.equal(await card.locator('.invoice-payment').count(), 0, 'no payment before it is finalized');
  await shot('08i4-invoice-draft');

  await card.getByRole('button', { name: 'Finalize invoice' }).click();
  const finalized = card.getByRole('heading', { name: /^Invoice \d+$/ });
  await finalized.waitFor();
  const title = (await finalized.textContent()).trim();
  assert.equal(await card.getByRole('button', { name: 'Finalize invoice' }).count(), 0, 'only a draft is finalized');
  await eventually('the list shows it finalized with its frozen total', async () =>
    (await row.locator('td').nth(1).textContent()).trim() === 'Finalized'
      && (await row.locator('td.price').textContent()).trim() === '12.5 USD');
  const printable = card.getByRole('link', { name: 'Printable invoice' });
  assert.equal(await printable.getAttribute('target'), '_blank');
  const printed = await fetchInPage(page, await printable.getAttribute('href'));
  assert.equal(printed.status, 200, printed.body);
  assert.match(printed.type, /^text\/html/);
  assert.ok(printed.body.includes(`<h1>${title}</h1>`), printed.body.slice(0, 400));
  assert.ok(!printed.body.includes('<script'), 'no script on an invoice');

  // Sluice sends it to Stripe on its own within a second; the open card and the list follow.
  const payment = card.locator('section.invoice-payment');
  await payment.locator('#invoice-payment-status', { hasText: 'Awaiting payment' }).waitFor();
  await eventually('the list shows it awaiting payment', async () =>
    (await row.locator('td.payment').textContent()).trim() === 'Awaiting payment');
  const tenant = await page.locator('#tenant-switcher').inputValue();
  assert.equal(stripe.customers.length, 1, 'a customer for the tenant');
  assert.equal(stripe.customers[0].metadata.sluice_tenant_id, tenant);
  assert.equal(stripe.customers[0].name, 'Acme');
  assert.equal(stripe.invoices.length, 1);
  const [sent] = stripe.invoices;
  assert.equal(sent.customer, stripe.customers[0].id);
  assert.equal(sent.status, 'open');
  assert.equal(sent.collection_method, 'send_invoice');
  assert.equal(sent.days_until_due, 30);
  assert.equal(sent.total, 1250, 'the invoice\'s total in cents');
  assert.deepEqual(stripe.items.map((it) => [it.invoice, it.amount]), [[sent.id, 1250]]);
  const pay = payment.getByRole('link', { name: 'Pay this invoice' });
  assert.equal(await pay.getAttribute('href'), `${stripe.url}/i/${sent.id}`);
  assert.equal(await pay.getAttribute('target'), '_blank');
  assert.equal(await pay.getAttribute('rel'), 'noopener noreferrer');
  const dueDay = new Date(sent.due_date * 1000).toISOString().slice(0, 10);
  assert.deepEqual(await payment.locator('dt').allTextContents(), ['Status', 'Due']);
  assert.equal((await payment.locator('dd').nth(1).textContent()).trim(), dueDay);
  await payment.getByRole('note').filter({ hasText: /^Unless it is paid, calls will be suspended from \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\.$/ }).waitFor();
  await shot('08i5-invoice-awaiting-payment');

  // Voiding says why: an empty reason is refused before anything is sent, next to the field.
  await card.getByRole('button', { name: 'Void invoice' }).click();
  await card.locator('#void-reason-error').waitFor();
  await card.getByLabel('Reason for voiding').fill('Drafted to try the portal');
  await card.getByRole('button', { name: 'Void invoice' }).click();
  await card.getByRole('heading', { name: `${title} (void)` }).waitFor();
  await card.getByText('Void: Drafted to try the portal').waitFor();
  assert.equal(await card.getByRole('button', { name: 'Void invoice' }).count(), 0, 'void is final');
  // Withdrawn at Stripe first: nothing is left to pay.
  await payment.locator('#invoice-payment-status', { hasText: 'Withdrawn' }).waitFor();
  assert.equal(await payment.getByRole('link', { name: 'Pay this invoice' }).count(), 0);
  assert.equal(await payment.getByRole('note').count(), 0, 'a withdrawn invoice suspends nothing');
  assert.equal(stripe.invoices[0].status, 'void');
  await eventually('the list shows it void and withdrawn', async () =>
    (await row.locator('td').nth(1).textContent()).trim() === 'Void'
      && (await row.locator('td.payment').textContent()).trim() === 'Withdrawn');
  await shot('08i5-invoice-void');
});

step('Invoices: last month invoiced again is sent to Stripe, and Stripe\'s signed notice that it was paid shows it paid', async () => {
  const invoices = page.locator('section[aria-labelledby="invoices-title"]');
  await dismissToasts();
  await invoices.getByRole('button', { name: 'Draft last month\'s invoice' }).click();
  await page.getByText('Drafted last month\'s invoice').waitFor();
  const card = page.locator('section.invoice');
  await card.getByRole('heading', { name: 'Draft invoice' }).waitFor();
  const draft = invoices.locator('tbody tr[data-status="Draft"]');
  const id = await draft.getAttribute('data-invoice');
  const row = invoices.locator(`tbody tr[data-invoice="${id}"]`);
  assert.equal((await card.locator('.invoice-sums td').last().textContent()).trim(), '12.5 USD', 'the fee, invoiced again');
  await card.getByRole('button', { name: 'Finalize invoice' }).click();
  const finalized = card.getByRole('heading', { name: /^Invoice \d+$/ });
  await finalized.waitFor();
  const payment = card.locator('section.invoice-payment');
  await payment.locator('#invoice-payment-status', { hasText: 'Awaiting payment' }).waitFor();
  await eventually('the list shows it awaiting payment', async () =>
    (await row.locator('td.payment').textContent()).trim() === 'Awaiting payment');
  assert.equal(stripe.customers.length, 1, 'the tenant\'s customer is reused');
  assert.equal(stripe.invoices.length, 2);
  const sent = stripe.invoices[1];
  assert.equal(sent.status, 'open');
  assert.equal(sent.customer, stripe.customers[0].id);
  assert.equal(sent.metadata.sluice_invoice_id, id);
  assert.equal(await payment.getByRole('link', { name: 'Pay this invoice' }).getAttribute('href'), `${stripe.url}/i/${sent.id}`);

  // The tenant pays on Stripe's page; Stripe tells sluice, signed. A notice signed with
  // another secret is refused, and one sent again changes nothing.
  sent.status = 'paid';
  sent.amount_paid = sent.total;
  sent.amount_remaining = 0;
  const notice = { ...stripeInvoice(sent.id, sent.customer, sent.currency), status: 'paid', total: sent.total, subtotal: sent.total, amount_due: sent.total, amount_paid: sent.total };
  const forged = await stripeNotice('invoice.paid', notice, 'whsec_someone_else');
  assert.equal(forged.status, 400, JSON.stringify(forged.body));
  assert.deepEqual(await stripeNotice('invoice.paid', notice), { status: 200, body: { outcome: 'invoice', changed: true } });
  assert.deepEqual(await stripeNotice('invoice.paid', notice), { status: 200, body: { outcome: 'invoice', changed: false } });

  // The open card looks again while the invoice awaits payment.
  await payment.locator('#invoice-payment-status', { hasText: /^Paid$/ }).waitFor({ timeout: 25_000 });
  assert.deepEqual(await payment.locator('dt').allTextContents(), ['Status', 'Due', 'Paid']);
  assert.match((await payment.locator('dd').nth(2).textContent()).trim(), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
  assert.equal(await payment.getByRole('link', { name: 'Pay this invoice' }).count(), 0, 'nothing left to pay');
  assert.equal(await payment.getByRole('note').count(), 0, 'a paid invoice suspends nothing');
  // A paid invoice is not voided: a credit on the next one corrects it.
  assert.equal(await card.getByRole('button', { name: 'Void invoice' }).count(), 0);
  await card.getByText('A paid invoice is not voided').waitFor();
  await eventually('the list shows it paid', async () =>
    (await row.locator('td.payment').textContent()).trim() === 'Paid');

  // Every call to Stripe carried the secret key (or the fake would have refused it), each POST
  // an idempotency key, and nothing else was asked of it.
  const posts = stripe.requests.filter((it) => it.method === 'POST');
  assert.ok(posts.length >= 8, `customer, 2 × (invoice, item, finalize), void: ${posts.length}`);
  for (const request of posts) assert.ok(request.idempotencyKey, `${request.path} without an idempotency key`);
  assert.deepEqual(stripe.problems, []);
  await shot('08i5-invoice-paid');
});

step('Corrections: the operator credits this month\'s bill, checked before sending, and the bill shows it', async () => {
  await page.getByLabel('Billing period').selectOption({ index: 0 });
  await page.locator('.billing-running').waitFor();
  const form = page.locator('form.correction-form');
  await form.locator('#correction-amount').fill('1,50');
  await form.getByRole('button', { name: 'Add to the bill' }).click();
  await form.locator('#correction-amount-error').waitFor();
  await form.locator('#correction-reason-error').waitFor();
  await form.locator('#correction-amount').fill('0.5');
  await form.locator('#correction-reason').fill('Goodwill for a slow week');
  await form.getByRole('button', { name: 'Add to the bill' }).click();
  await page.getByText(/^Added: -0\.5 on the bill of /).waitFor();
  const row = page.locator('.bill-corrections tbody tr', { hasText: 'Goodwill for a slow week' });
  await row.waitFor();
  assert.deepEqual(
    (await row.locator('td').allTextContents()).slice(1).map((it) => it.trim()),
    ['Credit', 'Goodwill for a slow week', EMAIL, '-0.5 USD'],
  );
  assert.equal(await form.locator('#correction-amount').inputValue(), '', 'the form starts over');
  await shot('08i6-correction');
});

step('Prepaid credit: the operator sets the tenant to stop at zero, tops it up once per reference, buys credit by card on Stripe\'s checkout page, and sets it back', async () => {
  const card = page.locator('section[aria-labelledby="credit-title"]');
  await card.getByText('Billed afterwards: this tenant is not on prepaid credit.').waitFor();
  await card.getByLabel('Stop calls at zero').check();
  await card.getByRole('button', { name: 'Save credit setting' }).click();
  await page.getByText('Saved: calls stop when the balance cannot cover them.').waitFor();
  const balance = card.locator('#credit-balance');
  await balance.waitFor();
  const before = Number((await balance.textContent()).replace(' USD', ''));
  // A top-up is checked before it is sent, then added once per reference.
  const form = card.locator('form.top-up-form');
  await form.locator('#top-up-amount').fill('0');
  await form.getByRole('button', { name: 'Top up' }).click();
  await form.locator('#top-up-amount-error').waitFor();
  await form.locator('#top-up-reason-error').waitFor();
  for (const message of ['Added 25 to the credit.', 'That reference was added before: nothing added.']) {
    await form.locator('#top-up-amount').fill('25');
    await form.locator('#top-up-reference').fill('wire-1');
    await form.locator('#top-up-reason').fill('Paid by wire');
    await form.getByRole('button', { name: 'Top up' }).click();
    await page.getByText(message).waitFor();
  }
  await card.locator('.top-ups tbody tr', { hasText: 'wire-1' }).waitFor();
  assert.equal(await card.locator('.top-ups tbody tr').count(), 1, 'one top-up for one reference');
  await eventually('the balance grows by the top-up', async () => {
    const after = Number((await balance.textContent()).replace(' USD', ''));
    return Math.abs(after - before - 25) < 0.01;
  });
  await shot('08i7-credit');

  // Buying credit by card: checked first, then Stripe's checkout page, and back once paid.
  const buy = card.locator('form.buy-credit-form');
  await buy.locator('#buy-credit-amount').fill('12.345');
  await buy.getByRole('button', { name: 'Buy credit' }).click();
  await buy.locator('#buy-credit-amount-error', { hasText: 'whole cents' }).waitFor();
  assert.equal(stripe.checkouts.length, 0, 'nothing sent before the amount is right');
  await buy.locator('#buy-credit-amount').fill('20');
  await buy.getByRole('button', { name: 'Buy credit' }).click();
  await page.waitForURL(`${stripe.url}/c/pay/cs_test_1`);
  assert.equal((await page.locator('#amount').textContent()).trim(), '2000 usd');
  const [session] = stripe.checkouts;
  assert.equal(session.customer, stripe.customers[0].id, 'the tenant\'s own customer');
  const tenantId = stripe.customers[0].metadata.sluice_tenant_id;
  assert.deepEqual(session.intent_metadata, { sluice_tenant_id: tenantId });
  assert.equal(session.success_url, `${base}/billing?credit=paid`);
  // Stripe takes the card and says so, signed; the payer comes back to the Billing page.
  const intent = {
    id: 'pi_portal_1', object: 'payment_intent', amount: 2000, amount_capturable: 0, amount_received: 2000,
    capture_method: 'automatic', confirmation_method: 'automatic', created: Math.floor(Date.now() / 1000),
    currency: 'usd', livemode: false, metadata: session.intent_metadata, payment_method_types: ['card'],
    status: 'succeeded',
  };
  assert.deepEqual(await stripeNotice('payment_intent.succeeded', intent), { status: 200, body: { outcome: 'top_up', changed: true } });
  await page.getByRole('link', { name: 'Pay' }).click();
  await page.waitForURL(`${base}/billing?credit=paid`);
  await page.locator('#credit-checkout-outcome', { hasText: 'Thank you' }).waitFor();
  await card.locator('.top-ups tbody tr', { hasText: 'pi_portal_1' }).waitFor();
  await eventually('the balance grows by the payment too', async () => {
    const after = Number((await balance.textContent()).replace(' USD', ''));
    return Math.abs(after - before - 45) < 0.01;
  });
  await shot('08i8-credit-bought');

  // Back to billing afterwards, so the calls of the steps after this one are not stopped.
  await card.getByLabel('Stop calls at zero').uncheck();
  await card.getByRole('button', { name: 'Save credit setting' }).click();
  await card.getByText('Calls go on when it runs out; what is overdrawn comes off the next top-up.').waitFor();
});

step('Limits: a tenant admin sets a rate and budgets with alert thresholds, checked as the server checks them, and watches them fill', async () => {
  await page.getByRole('link', { name: 'Limits', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Limits', exact: true }).waitFor();
  await page.locator('section[aria-labelledby="limits-now-title"] .empty', { hasText: 'No limits' }).waitFor();
  await page.locator('#limits-requests-per-minute').fill('0');
  await page.getByRole('button', { name: 'Add budget' }).click();
  const monthly = page.locator('.budget-row').nth(0);
  await fillBudget(monthly, { amount: '1.0000001', alertAt: '80, 50' });
  // A second, soft budget of a few tokens a day: the first call passes its 50 % alert.
  await page.getByRole('button', { name: 'Add budget' }).click();
  const daily = page.locator('.budget-row').nth(1);
  await fillBudget(daily, { period: 'day', counts: 'tokens', amount: '20', alertAt: '50' });
  await daily.getByLabel(/^Hard:/).uncheck();
  await page.getByRole('button', { name: 'Save limits' }).click();
  await page.getByText('Enter at least 1, or leave it empty for no limit.').waitFor();
  await monthly.getByText('Use at most six decimal places: budgets are counted to the millionth.').waitFor();
  assert.equal(await monthly.getByLabel('Amount').getAttribute('aria-invalid'), 'true');
  await shot('08j-limits-errors');
  await page.locator('#limits-requests-per-minute').fill('600');
  await monthly.getByLabel('Amount').fill('250');
  await page.getByRole('button', { name: 'Save limits' }).click();
  await page.getByText('Saved the limits').waitFor();
  // Saved and read back: the thresholds in order.
  await eventually('the saved thresholds', async () =>
    (await page.locator('.budget-row').nth(0).getByLabel('Alert at (%)').inputValue()) === '50, 80');
  const rpm = limitBar(page, 'tenant', 'requests_per_minute');
  await rpm.getByText('This tenant', { exact: true }).waitFor();
  const spend = limitBar(page, 'tenant', 'spend', 'month');
  await spend.locator('.limit-bar-figure', { hasText: /of 250 USD \(/ }).waitFor();
  await spend.getByText('Alerts at 50%, 80%').waitFor();
  await spend.getByText(/^resets at \d{4}-\d{2}-\d{2} \d{2}:\d{2}$/).waitFor();
  const tokens = limitBar(page, 'tenant', 'tokens', 'day');
  await tokens.getByText('alert only').waitFor();

  // Two calls: the bars fill, and the soft budget's alert is raised.
  for (let i = 0; i < 2; i++) assert.equal((await chat(state.key)).status, 200);
  await eventually('the calls on the bars and the alert in the list', async () => {
    await page.locator('section[aria-labelledby="limits-now-title"]').getByRole('button', { name: 'Refresh' }).click();
    const figure = await rpm.locator('.limit-bar-figure').textContent().catch(() => '');
    const alerts = await page.locator('.alerts-table tbody tr').count();
    return /^[12] of 600 requests \(<1%\)$/.test(figure) && alerts > 0;
  });
  assert.match(await spend.locator('.limit-bar-figure').textContent(), /^[\d.]+ of 250 USD \((<1|0)%\)$/);
  assert.equal(await rpm.getByRole('progressbar').getAttribute('aria-valuenow'), '0');
  const alert = page.locator('.alerts-table tbody tr').first();
  await alert.getByText('This tenant · Tokens per day').waitFor();
  await alert.getByText('50%', { exact: true }).waitFor();
  await shot('08k-limits');

  // A key's effective limits: its own and the tenant's.
  await page.getByRole('link', { name: 'API keys' }).click();
  await dismissToasts();
  await page.locator('.keys-table tbody tr', { hasText: 'ci' }).getByRole('button', { name: 'Limits' }).click();
  const panel = page.getByRole('region', { name: 'Limits of ci' });
  await limitBar(panel, 'key', 'spend', 'month').getByText('This key', { exact: true }).waitFor();
  await limitBar(panel, 'tenant', 'requests_per_minute').waitFor();
  await shot('08l-key-limits');
  await panel.getByRole('button', { name: 'Close' }).click();

  // Removed after a confirmation: nothing limits the tenant any more (the alert stays).
  await page.getByRole('link', { name: 'Limits', exact: true }).click();
  await page.getByRole('button', { name: 'Remove all limits' }).click();
  const confirm = page.getByRole('dialog', { name: 'Remove all limits?' });
  await confirm.getByRole('button', { name: 'Remove all limits' }).click();
  await page.getByText('Removed all limits set here.').waitFor();
  await page.locator('section[aria-labelledby="limits-now-title"] .empty', { hasText: 'No limits' }).waitFor();
  await eventually('the empty form', async () => (await page.locator('.budget-row').count()) === 0);
  await page.locator('.alerts-table tbody tr').first().waitFor();
});

step('Limits: a tenant admin points budget alerts at a webhook, sees its signing secret once, rotates it and removes it', async () => {
  const card = page.getByRole('region', { name: 'Budget alerts webhook' });
  await card.getByText('No webhook: alerts are listed here only.').waitFor();
  // The alert raised above had nowhere to go.
  await eventually('the alert\'s delivery', async () => {
    await page.locator('section[aria-labelledby="limits-now-title"]').getByRole('button', { name: 'Refresh' }).click();
    return (await page.locator('.alerts-table tbody tr').first().locator('td.delivery').textContent()) === 'No webhook';
  });
  await card.getByLabel('Webhook URL').fill('https://hooks.example.com/x');
  await card.getByRole('button', { name: 'Save webhook' }).click();
  await page.getByText('Saved: budget alerts are sent to the webhook.').waitFor();
  const secret = card.locator('#limits-webhook-secret');
  const first = await secret.inputValue();
  assert.match(first, /^whsec_[A-Za-z0-9+/=]{20,}$/);
  await card.getByText('Copy it now, it will not be shown again').waitFor();
  await card.getByText(/webhook-signature/).waitFor();
  await card.locator('.webhook-url code', { hasText: 'https://hooks.example.com/x' }).waitFor();
  await shot('08m-limits-webhook');

  // Read back: the URL, never the secret.
  await page.reload();
  await card.locator('.webhook-url code', { hasText: 'https://hooks.example.com/x' }).waitFor();
  await eventually('the saved URL in the form', async () =>
    (await card.getByLabel('Webhook URL').inputValue()) === 'https://hooks.example.com/x');
  assert.equal(await secret.count(), 0);

  // The server's check lands on the field.
  expectedConsoleErrors.push(/\/limits: Failed to load resource: .* 400 /);
  await card.getByLabel('Webhook URL').fill('ftp://x');
  await card.getByRole('button', { name: 'Save webhook' }).click();
  await card.locator('.field.invalid .field-error').waitFor();
  assert.equal(await card.getByLabel('Webhook URL').getAttribute('aria-invalid'), 'true');
  assert.equal(await secret.count(), 0);

  // Rotated after a confirmation: a new secret, shown once.
  await card.getByRole('button', { name: 'Rotate secret' }).click();
  await page.getByRole('dialog', { name: 'Rotate the signing secret?' }).getByRole('button', { name: 'Rotate secret' }).click();
  await page.getByText('Made a new signing secret').waitFor();
  const second = await secret.inputValue();
  assert.match(second, /^whsec_/);
  assert.notEqual(second, first);
  await card.getByRole('button', { name: 'Done, I have stored it' }).click();
  assert.equal(await secret.count(), 0);

  // Removed after a confirmation.
  await card.getByRole('button', { name: 'Remove webhook' }).click();
  await page.getByRole('dialog', { name: 'Remove the webhook?' }).getByRole('button', { name: 'Remove webhook' }).click();
  await card.getByText('No webhook: alerts are listed here only.').waitFor();
  assert.equal(await card.getByRole('button', { name: 'Rotate secret' }).count(), 0);
  await dismissToasts();
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
  await shot('10-audit');
  // Newest first, a page at a time: the tenant's first events are pages back by now.
  const expected = ['tenant.create', 'key.create', 'invitation.create', 'provider_credential.create'];
  const older = page.getByRole('button', { name: 'Older →' });
  for (let pages = 1; !expected.every((it) => actions.includes(it)) && pages < 10; pages += 1) {
    assert.ok(await older.isEnabled(), `no older page, and missing ${expected.filter((it) => !actions.includes(it))}`);
    const top = await page.locator('.audit-event').first().textContent();
    await older.click();
    await eventually('the older page', async () =>
      (await page.locator('.audit-event').first().textContent().catch(() => top)) !== top);
    actions.push(...await page.locator('.audit-event code.action').allTextContents());
  }
  for (const action of expected) assert.ok(actions.includes(action), `${action} in ${actions}`);
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

step('a finance member sees Billing, the dashboard and the audit log, and no key actions', async () => {
  await signUpThroughApi(FINANCE, 'Finn Finance');
  await page.getByRole('link', { name: 'Members' }).click();
  await page.getByText(EMAIL).first().waitFor();
  await page.getByLabel('Email address').fill(FINANCE);
  await page.getByLabel('Role', { exact: true }).selectOption('finance');
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await page.locator('tr', { hasText: FINANCE }).getByText('Finance').waitFor();
  const link = await page.locator('#invitation-link').inputValue();

  const { ctx, tab } = await newSession();
  await visit('/login', tab);
  await tab.getByLabel('Email address').fill(FINANCE);
  await tab.getByLabel('Password').fill(PASSWORD);
  await tab.getByRole('button', { name: 'Sign in' }).click();
  await tab.getByText(FINANCE).waitFor();
  await tab.goto(link);
  await ready(tab);
  await tab.getByRole('button', { name: 'Join the tenant' }).click();
  await tab.getByText('You joined as Finance.').waitFor();

  await tab.getByRole('link', { name: 'Billing', exact: true }).click();
  await tab.getByRole('heading', { level: 1, name: 'Billing', exact: true }).waitFor();
  assert.ok(figure(await tab.locator('#bill-requests').textContent()) > 0);
  await tab.getByRole('link', { name: 'Download CSV' }).waitFor();
  // Finance reads invoices and writes none: the platform or the partner does.
  const invoices = tab.locator('section[aria-labelledby="invoices-title"]');
  await invoices.getByRole('button', { name: /^Open Invoice \d+ \(void\)/ }).click();
  await tab.locator('section.invoice').getByText('Void: Drafted to try the portal').waitFor();
  await tab.locator('#credit-balance').waitFor();
  for (const action of ['Draft last month\'s invoice', 'Finalize invoice', 'Void invoice', 'Add to the bill', 'Top up', 'Save credit setting']) {
    assert.equal(await tab.getByRole('button', { name: action }).count(), 0, `no ${action} for finance`);
  }
  await tab.getByRole('link', { name: 'Dashboard' }).click();
  await eventually('the tenant\'s requests on the dashboard', async () =>
    figure(await tab.locator('#total-requests').textContent().catch(() => '')) > 0);
  await tab.getByRole('link', { name: 'Audit log' }).click();
  await tab.locator('.audit-event').first().waitFor();
  // Keys are not finance's: the page says so and offers nothing the API would refuse.
  await tab.getByRole('link', { name: 'API keys' }).click();
  await tab.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
  await tab.getByText('Not for your role').waitFor();
  for (const action of ['Create key', 'Rotate', 'Revoke', 'Edit']) {
    assert.equal(await tab.getByRole('button', { name: action }).count(), 0, action);
  }
  await shot('08i4-finance-keys', tab);
  // Its home is the dashboard.
  await visit('/', tab);
  await tab.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
  await ctx.close();
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

step('edit a key\'s name and restrict its models: the list and the data plane follow', async () => {
  await page.getByRole('button', { name: 'Create key' }).click();
  await page.getByLabel('Name').fill('edit-me');
  await page.getByRole('button', { name: 'Create key' }).click();
  const secret = await page.locator('#new-key-secret').inputValue();
  await page.getByRole('button', { name: 'Done, I have stored it' }).click();
  await eventually('the new key to work with any model', async () => (await chat(secret)).status === 200);

  const row = page.locator('.keys-table tbody tr', { hasText: 'edit-me' });
  await row.getByRole('button', { name: 'Edit' }).click();
  const panel = page.getByRole('region', { name: 'Edit edit-me' });
  assert.equal(await panel.getByLabel('Name').inputValue(), 'edit-me', 'pre-filled from the key');
  assert.equal(await panel.getByLabel('Allowed models').inputValue(), '');
  await panel.getByLabel('Name').fill('edited');
  await panel.getByLabel('Allowed models').fill('slow-mock');
  await shot('13b-key-edit-form');
  await panel.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('Saved edited.').waitFor();
  await panel.waitFor({ state: 'detached' });
  const edited = page.locator('.keys-table tbody tr', { has: page.getByText('edited', { exact: true }) });
  await edited.getByText('Models: slow-mock').waitFor();
  assert.equal(await page.locator('.keys-table').getByText('edit-me', { exact: true }).count(), 0);

  await eventually('the key to refuse a model it may no longer use', async () => {
    const res = await chat(secret);
    return res.status === 403 && (await res.json()).error.code === 'model_not_allowed';
  });
  const allowed = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'slow-mock', messages: [{ role: 'user', content: 'x' }] }),
  });
  assert.equal(allowed.status, 200);
  state.editedKey = secret;
});

step('a key\'s budget set in its edit form refuses its calls, and removing it lets them through', async () => {
  const slowMock = () => fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${state.editedKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'slow-mock', messages: [{ role: 'user', content: 'x' }], max_tokens: 5 }),
  });
  const row = page.locator('.keys-table tbody tr', { has: page.getByText('edited', { exact: true }) });
  await row.getByRole('button', { name: 'Edit' }).click();
  let panel = page.getByRole('region', { name: 'Edit edited' });
  await panel.locator('#edit-key-add-budget').click();
  const budget = panel.locator('.budget-row').first();
  await fillBudget(budget, { period: 'day', counts: 'tokens', amount: '3' });
  await panel.getByRole('button', { name: 'Save changes' }).click();
  await panel.waitFor({ state: 'detached' });
  await row.getByText('3 tokens/day').waitFor();
  const refused = await eventually('the key\'s budget to refuse its calls', async () => {
    const res = await slowMock();
    return res.status === 429 ? res : null;
  });
  const body = await refused.json();
  assert.equal(body.error.code, 'insufficient_quota');
  assert.match(body.error.message, /api key's limit/);
  assert.equal(refused.headers.get('x-should-retry'), 'false');

  await row.getByRole('button', { name: 'Edit' }).click();
  panel = page.getByRole('region', { name: 'Edit edited' });
  assert.equal(await panel.locator('.budget-row').getByLabel('Amount').inputValue(), '3', 'pre-filled from the key');
  await panel.getByRole('button', { name: 'Remove budget 1' }).click();
  await panel.getByRole('button', { name: 'Save changes' }).click();
  await panel.waitFor({ state: 'detached' });
  await eventually('the key to be served again', async () => (await slowMock()).status === 200);
});

step('create a service account, and trade its copied credentials for a token that calls the data plane', async () => {
  await page.getByRole('link', { name: 'Service accounts' }).click();
  await page.getByRole('heading', { level: 1, name: 'Service accounts' }).waitFor();
  await page.getByText('No service accounts yet').waitFor();
  await page.getByRole('button', { name: 'Create service account' }).click();
  await page.getByLabel('Name').fill('nightly-batch');
  await page.getByLabel('Allowed models').fill('mock');
  await page.getByLabel('IP allow-list').fill('not-a-network');
  await page.getByRole('button', { name: 'Create service account' }).click();
  await page.getByText('`not-a-network` is not an IP address').waitFor();
  await page.getByLabel('IP allow-list').fill('127.0.0.1/32');
  await shot('14-service-account-form');
  await page.getByRole('button', { name: 'Create service account' }).click();
  state.clientId = await page.locator('#sa-client-id').inputValue();
  await page.getByRole('button', { name: 'Copy client secret' }).click();
  state.clientSecret = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(state.clientSecret, await page.locator('#sa-client-secret').inputValue());
  await page.getByRole('button', { name: 'Copy client ID' }).click();
  await eventually('the client id on the clipboard', async () =>
    (await page.evaluate(() => navigator.clipboard.readText())) === state.clientId);
  const curl = await page.locator('#sa-curl').textContent();
  assert.ok(curl.includes(`${base}/oauth/token -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials`), curl);
  assert.ok(curl.includes(state.clientSecret), 'the command is ready to paste');
  await shot('15-service-account-created');
  await page.getByRole('button', { name: 'Done, I have stored it' }).click();
  const row = page.locator('.service-accounts-table tbody tr', { hasText: 'nightly-batch' });
  await row.getByText(state.clientId).waitFor();
  await row.getByText(`…${state.clientSecret.slice(-4)}`).waitFor();

  const token = await eventually('an access token', async () => {
    const res = await clientCredentials(state.clientId, state.clientSecret);
    return res.status === 200 ? (await res.json()).access_token : null;
  });
  const answer = await eventually('the token to call the data plane', async () => {
    const res = await chat(token, 'Hello from a service account');
    return res.status === 200 ? res.json() : null;
  });
  assert.match(answer.choices[0].message.content, /Hello from a service account/);
});

step('rotate the service account\'s secret, then revoke it, each after a confirmation', async () => {
  const row = page.locator('.service-accounts-table tbody tr', { hasText: 'nightly-batch' });
  await row.getByRole('button', { name: 'Rotate secret' }).click();
  const rotate = page.getByRole('dialog', { name: 'Rotate this secret?' });
  await shot('16-service-account-rotate');
  await rotate.getByRole('button', { name: 'Rotate secret' }).click();
  const rotated = await page.locator('#sa-client-secret').inputValue();
  assert.notEqual(rotated, state.clientSecret);
  assert.equal(await page.locator('#sa-client-id').inputValue(), state.clientId, 'the client id stays');
  await page.getByRole('button', { name: 'Done, I have stored it' }).click();
  await eventually('the old secret to be refused', async () =>
    (await clientCredentials(state.clientId, state.clientSecret)).status === 401);
  const token = await eventually('a token with the new secret', async () => {
    const res = await clientCredentials(state.clientId, rotated);
    return res.status === 200 ? (await res.json()).access_token : null;
  });

  await row.getByRole('button', { name: 'Revoke' }).click();
  const revoke = page.getByRole('dialog', { name: 'Revoke this service account?' });
  await revoke.getByRole('button', { name: 'Revoke service account' }).click();
  await page.getByText('Revoked nightly-batch.').waitFor();
  await row.getByText('revoked').waitFor();
  await eventually('the revoked account\'s token to be refused', async () => (await chat(token)).status === 401);
  assert.notEqual((await clientCredentials(state.clientId, rotated)).status, 200);
  await shot('17-service-accounts');
});

step('a second account signs up: the partner\'s administrator-to-be', async () => {
  await signUpThroughApi(PARTNER_ADMIN, 'Pat Partner');
});

step('the first account is a platform operator: the operator view lists every tenant and every deployment\'s health', async () => {
  await page.getByRole('link', { name: 'Operator view' }).click();
  await page.getByRole('heading', { level: 1, name: 'Operator view' }).waitFor();
  const acme = page.locator('.operator-tenants tbody tr', { hasText: 'Acme' });
  await acme.getByText('Platform').waitFor();
  await page.getByText('No partners yet').waitFor();
  // The routed model's primary failed earlier: its breaker is open, the backup healthy.
  const routed = page.locator('.operator-deployments section[data-model="routed"]');
  await routed.locator('tr[data-deployment="primary"]').getByText('breaker open').waitFor();
  await routed.locator('tr[data-deployment="backup"]').getByText('healthy').waitFor();
  await shot('18-operator');
});

step('as operator, create a partner with a domain and an administrator', async () => {
  await page.getByRole('link', { name: 'Create a partner' }).click();
  await page.getByRole('heading', { level: 1, name: 'Partner console' }).waitFor();
  await page.getByRole('button', { name: 'Create partner' }).click();
  await page.getByLabel('Partner name').fill('Acme Partners');
  await page.getByLabel('Key prefix').fill('sk-sluice');
  await page.getByLabel('Product name').fill('Acme AI');
  await page.getByLabel('Primary colour', { exact: true }).fill('#123456');
  await page.getByLabel('Domains').fill(PARTNER_DOMAIN);
  await page.getByLabel('Administrator\'s email').fill(PARTNER_ADMIN);
  await page.getByRole('button', { name: 'Create partner' }).click();
  await page.getByText('Choose a prefix other than the platform\'s own.').waitFor();
  await page.getByLabel('Key prefix').fill('sk-acme');
  await shot('19-partner-create');
  await page.getByRole('button', { name: 'Create partner' }).click();
  await page.getByText('Created the partner Acme Partners.').waitFor();
  const row = page.locator('.partners-table tbody tr', { hasText: 'Acme Partners' });
  await row.getByText(PARTNER_DOMAIN).waitFor();
  await row.getByText('sk-acme-…').waitFor();
  // Every partner is an operator's: the console is in the navigation now.
  await page.getByRole('link', { name: 'Partner console' }).waitFor();
});

step('the partner\'s administrator edits the branding, watching the live preview', async () => {
  const { ctx, tab } = await newSession();
  state.partnerSession = { ctx, tab };
  await visit('/login', tab);
  await tab.getByLabel('Email address').fill(PARTNER_ADMIN);
  await tab.getByLabel('Password').fill(PASSWORD);
  await tab.getByRole('button', { name: 'Sign in' }).click();
  await tab.getByRole('link', { name: 'Partner console' }).click();
  await tab.getByRole('link', { name: 'Acme Partners' }).click();
  await tab.getByRole('heading', { level: 1, name: 'Acme Partners' }).waitFor();
  state.partnerPath = new URL(tab.url()).pathname;
  assert.match(state.partnerPath, /^\/partners\/[0-9a-f-]{36}$/);

  const preview = tab.locator('.brand-preview');
  const button = preview.locator('.preview-button');
  const background = () => button.evaluate((it) => getComputedStyle(it).backgroundColor);
  assert.equal(await preview.locator('.preview-name').textContent(), 'Acme AI');
  assert.equal(await background(), 'rgb(18, 52, 86)', 'the saved #123456');
  await tab.getByLabel('Product name').fill('Acme Cloud');
  await tab.getByLabel('Primary colour', { exact: true }).fill('#0a7d32');
  await tab.getByLabel('Accent colour', { exact: true }).fill('#f59e0b');
  await tab.getByLabel('Logo URL').fill(PARTNER_LOGO);
  await tab.getByLabel('Favicon URL').fill(PARTNER_FAVICON);
  await tab.getByLabel('Support URL').fill('https://help.acme.test');
  // The preview follows the typing, before anything is saved.
  await eventually('the preview to show the new name', async () =>
    (await preview.locator('.preview-name').textContent()) === 'Acme Cloud');
  assert.equal(await background(), 'rgb(10, 125, 50)');
  assert.equal(await preview.locator('.preview-logo').getAttribute('src'), PARTNER_LOGO);
  assert.equal(await preview.locator('.preview-favicon').getAttribute('src'), PARTNER_FAVICON);
  const saved = await brandingOf(`${PARTNER_DOMAIN}:${port}`);
  assert.equal(saved.branding.display_name, 'Acme AI', 'nothing saved yet');
  await tab.getByLabel('Primary colour', { exact: true }).fill('blue');
  await eventually('an invalid colour to leave the preview alone', async () =>
    (await background()) !== 'rgb(10, 125, 50)');
  await tab.getByRole('button', { name: 'Save branding' }).click();
  await tab.getByText('Choose a colour like #1f6feb.').waitFor();
  await tab.getByLabel('Primary colour', { exact: true }).fill('#0a7d32');
  await shot('21-partner-branding', tab);
  await tab.getByRole('button', { name: 'Save branding' }).click();
  await tab.getByText('Saved the branding').waitFor();
});

step('the partner\'s administrator manages its domains and administrators', async () => {
  const { tab } = state.partnerSession;
  await tab.locator('#domain-host').fill('https://portal.acme.test');
  await tab.getByRole('button', { name: 'Add domain' }).click();
  await tab.getByText('Enter a domain name like').waitFor();
  await tab.locator('#domain-host').fill('portal.acme.test');
  await tab.getByRole('button', { name: 'Add domain' }).click();
  await tab.getByText('Added portal.acme.test. Publish its TXT record, then select Verify.').waitFor();
  // Added by the partner it is pending, and its brand does not show there yet.
  const item = tab.locator('.domain-item', { hasText: 'portal.acme.test' });
  await item.getByText('Pending: not verified yet').waitFor();
  await item.getByText('_domain-verification.portal.acme.test', { exact: true }).waitFor();
  const value = (await item.locator('.record dd code').last().textContent()).trim();
  assert.match(value, /^[0-9a-f]{32}$/);
  assert.equal((await brandingOf(`portal.acme.test:${port}`)).partner_id, undefined,
    'a pending domain is nobody\'s');
  await item.getByRole('button', { name: 'Copy value' }).click();
  assert.equal(await tab.evaluate(() => navigator.clipboard.readText()), value);
  // Verify before publishing: refused, in words that say what to publish.
  expectedConsoleErrors.push(/\/partners\/[0-9a-f-]+: Failed to load resource: .* 422 /);
  await item.getByRole('button', { name: 'Verify portal.acme.test' }).click();
  await item.getByRole('alert').getByText('The domain is not verified yet. No TXT record was found').waitFor();
  await shot('22-partner-domain-pending', tab);
  // Published: verified, and the portal there wears the brand.
  dns.records.set('_domain-verification.portal.acme.test', [value]);
  await item.getByRole('button', { name: 'Verify portal.acme.test' }).click();
  await tab.getByText('portal.acme.test is verified').waitFor();
  await item.getByText(/^Verified on \d{4}-\d{2}-\d{2}$/).waitFor();
  assert.equal(await item.getByRole('button', { name: 'Verify portal.acme.test' }).count(), 0);
  await eventually('the verified domain to show the brand', async () =>
    (await brandingOf(`portal.acme.test:${port}`)).branding.display_name === 'Acme Cloud');
  await tab.locator('.domain-item', { hasText: PARTNER_DOMAIN }).getByText(/^Verified on /).waitFor();
  await tab.getByRole('button', { name: 'Remove portal.acme.test' }).click();
  const remove = tab.getByRole('dialog', { name: 'Remove this domain?' });
  await remove.getByRole('button', { name: 'Remove domain' }).click();
  await tab.getByText('Removed portal.acme.test.').waitFor();
  await tab.locator('.domain-list code', { hasText: PARTNER_DOMAIN }).waitFor();

  // The last administrator cannot leave: the server's 409, in words.
  expectedConsoleErrors.push(/\/partners\/[0-9a-f-]+: Failed to load resource: .* 409 /);
  await tab.getByRole('button', { name: `Remove ${PARTNER_ADMIN}` }).click();
  const leave = tab.getByRole('dialog', { name: 'Remove this administrator?' });
  await leave.getByText('You will no longer manage this partner').waitFor();
  await leave.getByRole('button', { name: 'Remove administrator' }).click();
  await tab.getByText('A partner keeps at least one administrator.').waitFor();
  await tab.getByLabel('Email address').fill(EMAIL);
  await tab.getByRole('button', { name: 'Add administrator' }).click();
  await tab.getByText(`${EMAIL} now administers this partner.`).waitFor();
  await shot('22-partner-domains-admins', tab);
});

step('a sub-tenant: create it, switch to it, and issue a key with the partner\'s prefix', async () => {
  const { tab } = state.partnerSession;
  await tab.getByLabel('Tenant name').fill('Globex');
  await tab.getByRole('button', { name: 'Create sub-tenant' }).click();
  await tab.getByText('Created Globex.').waitFor();
  // The toasts sit over the table's last column: dismiss them, as a person would.
  const dismiss = tab.getByRole('button', { name: 'Dismiss' });
  while (await dismiss.count()) await dismiss.first().click({ timeout: 1_000 }).catch(() => {});
  await tab.getByRole('button', { name: 'Switch to Globex' }).click();
  await eventually('Globex to be current', async () =>
    (await tab.locator('#tenant-switcher option:checked').textContent())?.trim() === 'Globex');
  await shot('23-partner-sub-tenants', tab);
  await tab.getByRole('link', { name: 'API keys' }).click();
  await tab.getByRole('button', { name: 'Create key' }).click();
  await tab.getByLabel('Name').fill('globex-prod');
  await tab.getByRole('button', { name: 'Create key' }).click();
  const key = await tab.locator('#new-key-secret').inputValue();
  assert.match(key, /^sk-acme-/);
  state.globexKey = key;
  const res = await eventually('the sub-tenant\'s key to work', async () => {
    const answer = await chat(key);
    return answer.status === 200 ? answer : null;
  });
  assert.equal(res.status, 200);
  // Service accounts and members are the partner administrator's to manage there too.
  await tab.getByRole('link', { name: 'Service accounts' }).click();
  await tab.getByRole('button', { name: 'Create service account' }).waitFor();
  await tab.getByRole('link', { name: 'Tenants' }).click();
  await tab.locator('tr', { hasText: 'Globex' }).getByText('Partner administrator').waitFor();
});

step('the partner\'s administrator sets a markup and a price on the rate card, checked as the server checks them; the sub-tenant pays them', async () => {
  const { tab } = state.partnerSession;
  await visit(state.partnerPath, tab);
  await tab.getByRole('heading', { level: 2, name: 'Rate card' }).waitFor();
  await tab.locator('#rate-card-markup', { hasText: 'No markup' }).waitFor();
  const markup = tab.getByLabel('New markup (percent)');
  await markup.fill('12.345');
  await tab.getByRole('button', { name: 'Set markup' }).click();
  await tab.getByText('Use at most two decimal places, like 12.5 or 12.35.').waitFor();
  await markup.fill('25');
  await tab.getByRole('button', { name: 'Set markup' }).click();
  await tab.getByText('The markup is 25% from now on.').waitFor();
  await tab.locator('#rate-card-markup', { hasText: '25% markup' }).waitFor();
  await tab.locator('.markup-list li', { hasText: '25% from' }).getByText('in force').waitFor();
  // The card's own price for the slow mock, which the platform does not price.
  await tab.locator('#price-provider').fill('slow');
  await tab.locator('#price-model').fill('slow-mock');
  await tab.locator('#price-input').fill('-1');
  await tab.locator('#price-output').fill('2');
  await tab.getByRole('button', { name: 'Add price' }).click();
  await tab.getByText('A price cannot be negative.').waitFor();
  await tab.locator('#price-input').fill('1');
  await tab.getByRole('button', { name: 'Add price' }).click();
  await tab.getByText('Added the price of slow-mock on slow.').waitFor();
  await tab.locator('.rate-card-table tr', { hasText: 'slow-mock' }).waitFor();
  await shot('23b-partner-rate-card', tab);

  // Globex (current in this tab) pays the platform's price plus 25 %, and the card's own.
  await tab.getByRole('link', { name: 'Prices', exact: true }).click();
  assert.equal((await tab.locator('#tenant-switcher option:checked').textContent())?.trim(), 'Globex');
  const mock = tab.locator('section[data-model="mock"] tr[data-deployment="mock"] td.rate');
  await eventually('the marked-up price', async () =>
    (await mock.allTextContents()).slice(0, 3).join(' ') === '0.25 1 0.0625');
  const slow = tab.locator('section[data-model="slow-mock"] tr[data-deployment="slow"] td.rate');
  assert.deepEqual((await slow.allTextContents()).slice(0, 2), ['1', '2']);
});

step('the partner\'s statements: each sub-tenant\'s month at retail and wholesale with the margin, and its entries to download', async () => {
  const { tab } = state.partnerSession;
  // A call at the marked-up price: Globex pays more than the platform charges the partner.
  assert.equal((await chat(state.globexKey)).status, 200);
  const section = tab.getByRole('region', { name: 'Statements' });
  const globex = section.locator('.statement-table tbody tr[data-tenant="Globex"]');
  await eventually('the marked-up call in the statement', async () => {
    await visit(state.partnerPath, tab);
    await globex.waitFor();
    const margin = (await globex.locator('td').nth(3).textContent()).trim();
    return /^0\.\d*[1-9]\d* USD$/.test(margin);
  }, 20_000);
  const cells = (await globex.locator('td').allTextContents()).map((it) => it.trim());
  assert.ok(figure(cells[0]) >= 2, `Globex's calls: ${cells}`);
  for (const money of cells.slice(1)) assert.match(money, /^\d+(\.\d+)? USD$/);
  const total = section.locator('.statement-table tfoot tr');
  assert.equal((await total.getByRole('rowheader').textContent()).trim(), 'Total');
  assert.deepEqual((await total.locator('td').allTextContents()).map((it) => it.trim()), cells,
    'one sub-tenant: its figures are the partner\'s');
  await section.locator('.billing-running').waitFor();

  const href = await section.getByRole('link', { name: 'Download CSV' }).getAttribute('href');
  assert.match(href, /^\/api\/v1\/partners\/[0-9a-f-]{36}\/billing\/export\?from=[^&]+&to=[^&]+&format=csv$/);
  const file = await fetchInPage(tab, href);
  assert.equal(file.status, 200, file.body);
  assert.ok(file.body.startsWith('id,created_at,'), file.body.slice(0, 120));
  assert.ok(file.body.includes(',Globex,'), 'the sub-tenant\'s calls');
  await shot('23e-partner-statements', tab);

  await section.getByLabel('Billing period').selectOption({ index: 1 });
  await section.locator('caption', { hasText: `${lastMonthName()}, by sub-tenant` }).waitFor();
  assert.equal((await globex.locator('td').first().textContent()).trim(), '0');
});

step('the partner\'s invoices: a sub-tenant\'s invoice shows what the partner is charged at wholesale, which goes to the partner\'s own Stripe customer and waits in the console with a Pay link', async () => {
  const { tab } = state.partnerSession;
  // A long prompt the mock echoes: a few cents at the platform's price, enough to collect.
  assert.equal((await chat(state.globexKey, 'x '.repeat(60_000))).status, 200);
  // The Billing page drafts last month's invoice, which Globex did not exist for: this month so
  // far is drafted through the API, to the next whole minute, and finalized once that passed.
  const from = new Date();
  from.setUTCDate(1);
  from.setUTCHours(0, 0, 0, 0);
  const to = new Date(Math.ceil((Date.now() + 1) / 60_000) * 60_000);
  await visit('/billing', tab);
  const globex = await tab.locator('#tenant-switcher').inputValue();
  const drafted = await tab.evaluate(async ({ url, body }) => {
    const csrf = document.cookie.split('; ').find((it) => it.startsWith('csrf_token='));
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': decodeURIComponent(csrf?.slice('csrf_token='.length) ?? '') },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }, { url: `/api/v1/tenants/${globex}/billing/invoices`, body: { from: from.toISOString(), to: to.toISOString() } });
  assert.equal(drafted.status, 201, JSON.stringify(drafted.body));
  assert.ok(drafted.body.partner_charge, 'the partner sees its charge');

  await visit('/billing', tab);
  const invoices = tab.locator('section[aria-labelledby="invoices-title"]');
  const row = invoices.locator(`tbody tr[data-invoice="${drafted.body.id}"]`);
  await row.getByRole('button', { name: /^Open / }).click();
  const card = tab.locator('section.invoice');
  const charge = card.locator('section.partner-charge');
  await charge.getByRole('heading', { name: 'Charged to the partner' }).waitFor();
  await charge.locator('tbody tr', { hasText: 'mock' }).first().waitFor();
  const sums = await charge.locator('.invoice-sums th').allTextContents();
  assert.equal(sums.at(-1), 'The partner pays');
  const pays = (await charge.locator('.invoice-sums td').last().textContent()).trim();
  assert.match(pays, /^0\.0\d+ USD$/, 'a few cents at wholesale');
  // Retail is the wholesale price marked up 25 %: Globex is billed more than its partner pays.
  const billed = (await card.locator('table.invoice-sums').first().locator('td').last().textContent()).trim();
  assert.ok(parseFloat(billed) > parseFloat(pays), `${billed} over ${pays}`);
  await shot('23f-partner-charge-draft', tab);

  const wait = to.getTime() - Date.now() + 1_000;
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const customersBefore = stripe.customers.length;
  await card.getByRole('button', { name: 'Finalize invoice' }).click();
  await card.getByRole('heading', { name: /^Invoice \d+$/ }).waitFor();
  const payment = card.locator('section.invoice-payment');
  await payment.locator('#invoice-payment-status', { hasText: 'Awaiting payment' }).waitFor();
  // One new customer at Stripe, the partner's, and the invoice is its, at wholesale.
  assert.equal(stripe.customers.length, customersBefore + 1);
  const customer = stripe.customers.at(-1);
  assert.equal(customer.name, 'Acme Partners', 'the partner, not the sub-tenant');
  assert.ok(customer.metadata.sluice_partner_id, JSON.stringify(customer));
  const sent = stripe.invoices.at(-1);
  assert.equal(sent.customer, customer.id);
  assert.equal(sent.metadata.sluice_invoice_id, drafted.body.id);
  assert.ok(sent.description.startsWith('Globex, invoice'), sent.description);
  assert.equal(sent.total, Math.round(parseFloat(pays) * 100), `${pays} in cents`);

  // The partner console lists it with what Globex is billed, what the partner pays, and where.
  await visit(state.partnerPath, tab);
  const listed = tab.getByRole('region', { name: 'Invoices' }).locator(`tbody tr[data-invoice="${drafted.body.id}"]`);
  await listed.waitFor();
  assert.equal((await listed.getByRole('rowheader').textContent()).trim(), 'Globex');
  assert.equal((await listed.locator('td.charge').textContent()).trim(), pays);
  assert.equal(await listed.getAttribute('data-payment'), 'open');
  assert.equal(await listed.getByRole('link', { name: 'Pay' }).getAttribute('href'), `${stripe.url}/i/${sent.id}`);
  assert.deepEqual(stripe.problems, []);
  await shot('23g-partner-invoices', tab);
});

step('limits over a partner: the operator sets the shared ones, the partner\'s administrator reads them and sets (and locks) a sub-tenant\'s own', async () => {
  // As operator: the partner console's shared limits are editable.
  await visit(state.partnerPath);
  const shared = page.locator('.shared-limits');
  await shared.locator('#partner-limits-requests-per-minute').fill('1000');
  await shared.getByRole('button', { name: 'Save limits' }).click();
  await page.getByText('Saved the limits').waitFor();

  const { tab } = state.partnerSession;
  await visit(state.partnerPath, tab);
  const readOnly = tab.locator('.shared-limits');
  await readOnly.getByText('The platform\'s operators set these limits').waitFor();
  const field = readOnly.locator('#partner-limits-requests-per-minute');
  assert.equal(await field.inputValue(), '1000');
  assert.ok(await field.isDisabled(), 'read-only for the partner\'s administrators');
  assert.equal(await readOnly.getByRole('button', { name: 'Save limits' }).count(), 0);
  await readOnly.getByText('No alerts yet').waitFor();
  await shot('23c-partner-limits', tab);

  // A sub-tenant's own limits, locked over its own administrators.
  await dismissToasts(tab);
  await tab.getByRole('button', { name: 'Limits of Globex' }).click();
  await tab.getByRole('heading', { level: 1, name: 'Limits', exact: true }).waitFor();
  assert.equal((await tab.locator('#tenant-switcher option:checked').textContent())?.trim(), 'Globex');
  await limitBar(tab, 'partner', 'requests_per_minute')
    .getByText('Shared with your provider\'s other customers', { exact: true }).waitFor();
  await tab.locator('#limits-tokens-per-minute').fill('100000');
  await tab.getByLabel('Lock (customer cannot change)').check();
  await tab.getByRole('button', { name: 'Save limits' }).click();
  await tab.getByText('Saved the limits').waitFor();
  await limitBar(tab, 'tenant', 'tokens_per_minute').waitFor();
  await eventually('the lock read back', async () =>
    tab.getByLabel('Lock (customer cannot change)').isChecked());
  await shot('23d-sub-tenant-limits', tab);
});

step('on the partner\'s domain the portal shows only the partner\'s brand', async () => {
  const partnerBase = `http://${PARTNER_DOMAIN}:${port}`;
  const { ctx, tab } = await newSession();
  await tab.goto(`${partnerBase}/login`);
  await ready(tab);
  await tab.locator('.brand-name', { hasText: 'Acme Cloud' }).waitFor();
  await tab.getByRole('heading', { name: 'Sign in' }).waitFor();
  await eventually('the partner\'s favicon', async () =>
    (await tab.locator('link[rel=icon]').getAttribute('href')) === PARTNER_FAVICON);
  assert.equal(await tab.title(), 'Sign in · Acme Cloud');
  assert.equal(await tab.locator('.brand-logo').getAttribute('src'), PARTNER_LOGO);
  const button = tab.getByRole('button', { name: 'Sign in', exact: true });
  assert.equal(await button.evaluate((it) => getComputedStyle(it).backgroundColor), 'rgb(10, 125, 50)');
  const support = tab.getByRole('link', { name: 'Support' });
  assert.equal(await support.getAttribute('href'), 'https://help.acme.test');
  const seen = await tab.evaluate(() => ({
    text: document.body.innerText,
    title: document.title,
    icon: document.querySelector('link[rel=icon]')?.getAttribute('href') ?? '',
    html: document.documentElement.outerHTML,
  }));
  for (const [where, value] of Object.entries(seen)) {
    assert.doesNotMatch(value, /sluice/i, `the platform's name in the ${where}`);
  }
  await shot('24-partner-domain-login', tab);

  // Signed in there, the pages that show routing and answers name no platform either: the
  // models with their deployments and health, and the explorer with a call and its code.
  await tab.getByLabel('Email address').fill(PARTNER_ADMIN);
  await tab.getByLabel('Password').fill(PASSWORD);
  await button.click();
  await tab.getByRole('link', { name: 'Models and routes' }).click();
  await tab.getByRole('heading', { level: 1, name: 'Models and routes' }).waitFor();
  await tab.locator('section[data-model="routed"]').waitFor();
  const unbranded = async (where) => {
    const html = await tab.evaluate(() => document.documentElement.outerHTML);
    assert.doesNotMatch(html, /sluice/i, `the platform's name on ${where}`);
  };
  await unbranded('Models and routes');
  // Get started: its base URLs are the partner's domain, its code names no platform.
  await tab.getByRole('link', { name: 'Get started' }).click();
  await tab.getByRole('heading', { level: 1, name: 'Get started' }).waitFor();
  assert.equal((await tab.locator('#base-url-openai').textContent()).trim(), `${partnerBase}/v1`);
  await tab.locator('[data-snippet="anthropic-javascript"] code').waitFor();
  await unbranded('Get started');
  // The bill, and the bill as a page to print, name no platform either.
  await tab.getByRole('link', { name: 'Billing', exact: true }).click();
  await tab.getByRole('heading', { level: 1, name: 'Billing', exact: true }).waitFor();
  await tab.getByLabel('Billing period').waitFor();
  // Its prepaid credit and invoices cards too, once loaded.
  await tab.locator('#credit-state').waitFor();
  await tab.locator('section[aria-labelledby="invoices-title"] .empty, section[aria-labelledby="invoices-title"] table').first().waitFor();
  await unbranded('Billing');
  const printed = await fetchInPage(tab, await tab.getByRole('link', { name: 'Printable bill' }).getAttribute('href'));
  assert.equal(printed.status, 200, printed.body);
  assert.doesNotMatch(printed.body, /sluice/i, 'the platform\'s name on the printable bill');
  await tab.getByRole('link', { name: 'API explorer' }).click();
  const model = tab.getByLabel('Model', { exact: true });
  await eventually('the routed model', async () =>
    (await model.locator('option').allTextContents()).includes('routed'));
  await model.selectOption('routed');
  await tab.getByLabel('Message 1', { exact: true }).fill('White label, please');
  await tab.getByRole('button', { name: 'Send request' }).click();
  await tab.locator('#explorer-answer', { hasText: 'This is a mock reply to: White label, please' }).waitFor();
  await tab.locator('#explorer-served').waitFor();
  await unbranded('the explorer after a call');
  await shot('24b-partner-domain-explorer', tab);
  // Limits name the plan and the provider in plain words, never the platform's brand.
  await tab.getByRole('link', { name: 'Limits', exact: true }).click();
  await limitBar(tab, 'partner', 'requests_per_minute').waitFor();
  await limitBar(tab, 'tenant', 'tokens_per_minute').waitFor();
  await unbranded('Limits');
  await tab.goto(partnerBase + state.partnerPath);
  await ready(tab);
  await tab.locator('.shared-limits #partner-limits-requests-per-minute').waitFor();
  // The sub-tenants' invoices, with what the partner pays and its Pay link, loaded too.
  await tab.locator('section.partner-invoices tbody tr[data-invoice]').first().waitFor();
  await unbranded('the partner console\'s limits and invoices');
  await ctx.close();
});

step('single sign-on: a button per provider, and a session it opens can make changes', async () => {
  const { ctx, tab } = await newSession();
  await visit('/login?sso_error=denied', tab);
  await tab.getByText('The sign-in was cancelled at the identity provider.').waitFor();
  await visit('/login?next=%2Ftokens', tab);
  const sso = tab.getByRole('link', { name: 'Sign in with GitHub' });
  assert.equal(await sso.getAttribute('href'), '/api/v1/auth/sso/github/start?return_to=%2Ftokens');
  await shot('25-login-sso', tab);
  await sso.click();
  // Through the fake GitHub and back to the page that asked, signed in with cookies only.
  await tab.getByRole('heading', { level: 1, name: 'Personal access tokens' }).waitFor();
  await tab.getByText(SSO_EMAIL).waitFor();
  assert.equal(new URL(tab.url()).pathname, '/tokens');
  await tab.getByLabel('Name').fill('after-sso');
  await tab.getByRole('button', { name: 'Create token' }).click();
  await tab.locator('#new-token-secret').waitFor();
  await ctx.close();
});

step('every page renders, on a desktop and on a phone, in both themes', async () => {
  const pages = [
    ['get-started', '/get-started', 'Get started'],
    ['keys', '/keys', 'API keys'],
    ['members', '/members', 'Members'],
    ['provider-keys', '/provider-credentials', 'Provider keys'],
    ['models', '/models', 'Models and routes'],
    ['prices', '/prices', 'Prices'],
    ['billing', '/billing', 'Billing'],
    ['limits', '/limits', 'Limits'],
    ['audit', '/audit', 'Audit log'],
    ['tenants', '/tenants', 'Tenants'],
    ['tokens', '/tokens', 'Personal access tokens'],
    ['explorer', '/explorer', 'API explorer'],
    ['dashboard', '/dashboard', 'Dashboard'],
    ['service-accounts', '/service-accounts', 'Service accounts'],
    ['partners', '/partners', 'Partner console'],
    ['partner-console', state.partnerPath, 'Acme Partners'],
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
  await visit(state.partnerPath);
  await page.locator('.brand-preview .preview-name', { hasText: 'Acme Cloud' }).waitFor();
  await shot('34-partner-console-dark');
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
  await visit(state.partnerPath, phone);
  await phone.getByRole('heading', { level: 1, name: 'Acme Partners' }).waitFor();
  await phone.locator('.brand-preview').waitFor();
  assert.ok(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1),
    'the partner console fits a phone');
  await shot('33-partner-console-phone', phone);
  await phone.getByRole('button', { name: 'Menu' }).click();
  await phone.getByRole('link', { name: 'Members' }).click();
  await phone.getByRole('heading', { level: 1, name: 'Members' }).waitFor();
  await phone.locator('#sidebar').waitFor({ state: 'hidden' });
  await shot('32-members-phone', phone);
  await phone.close();
});

step('sign out', async () => {
  await state.partnerSession?.ctx.close();
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
