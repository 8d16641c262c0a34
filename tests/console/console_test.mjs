// Browser test of the SagaPay ops console (app/console), in Debian's headless chromium through
// playwright-core (no browser download). A plain Node script: exit code 0 when every step passed,
// 1 otherwise, naming what failed.
//
// Environment:
//   CONSOLE_URL        the console, e.g. http://127.0.0.1:8007 (required)
//   OPS_KEY            the ops key (OPS_API_KEY of the stack) (required)
//   CONSOLE_FIXTURES   JSON (or the path of a JSON file): {"reviews": [5 payment ids pending review],
//                      "review_customers": [their customers, same order], "refused_dlq_event_id",
//                      "refused_dlq_payment_id", "replayable_dlq_event_id",
//                      "replayable_dlq_payment_id", "refunded_payment_id", "refund_id",
//                      "idle_timeout_seconds"} (required)
//   CHROMIUM           the browser (default /usr/bin/chromium)
//   SCREENSHOT_DIR     where the PNGs go (default tests/console/screenshots, beside this script)
//   SETTLE_TIMEOUT_SECONDS  how long step 4 waits for the decided payments' final states (60)
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OPERATOR = 'e2e-operator';
const SESSION_ENDED = 'Your session has ended, log in again';
const TOTAL_TIMEOUT_MS = 10 * 60 * 1000;

function fail(message) {
  console.error(`console_test: ${message}`);
  process.exit(1);
}

const BASE = (process.env.CONSOLE_URL || '').replace(/\/+$/, '');
const OPS_KEY = process.env.OPS_KEY || '';
if (!BASE) fail('CONSOLE_URL is not set');
if (!OPS_KEY) fail('OPS_KEY is not set');
const FIX = (() => {
  const raw = (process.env.CONSOLE_FIXTURES || '').trim();
  if (!raw) fail('CONSOLE_FIXTURES is not set');
  try {
    return JSON.parse(raw.startsWith('{') ? raw : fs.readFileSync(raw, 'utf8'));
  } catch (e) {
    return fail(`CONSOLE_FIXTURES is neither JSON nor a readable JSON file: ${e.message}`);
  }
})();
for (const k of ['refused_dlq_event_id', 'refused_dlq_payment_id', 'replayable_dlq_event_id', 'replayable_dlq_payment_id', 'refunded_payment_id', 'refund_id']) {
  if (typeof FIX[k] !== 'string' || !FIX[k]) fail(`CONSOLE_FIXTURES.${k} is missing`);
}
if (!Array.isArray(FIX.reviews) || FIX.reviews.length < 4) fail('CONSOLE_FIXTURES.reviews needs at least 4 payment ids');
if (!Array.isArray(FIX.review_customers) || FIX.review_customers.length !== FIX.reviews.length) {
  fail('CONSOLE_FIXTURES.review_customers must give one customer per review');
}
const IDLE_SECONDS = Number(FIX.idle_timeout_seconds ?? 8);
if (!(IDLE_SECONDS > 0)) fail('CONSOLE_FIXTURES.idle_timeout_seconds must be a positive number');
const SETTLE_TIMEOUT_MS = Number(process.env.SETTLE_TIMEOUT_SECONDS || 60) * 1000;
const SHOTS = path.resolve(process.env.SCREENSHOT_DIR || path.join(HERE, 'screenshots'));
fs.mkdirSync(SHOTS, { recursive: true });

const [APPROVE_ID, DENY_ID_1, DENY_ID_2] = FIX.reviews;
const FILTER_INDEX = 3;

// ------------------------------------------------------------------ helpers
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls fn until it returns something truthy; throws naming `what` and the last value seen. An
 * error thrown by fn is retried, unless it has `final` set.
 */
async function waitFor(what, fn, timeoutMs = 15000, intervalMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  let lastError;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      if (e.final) throw e;
      lastError = e;
    }
    if (Date.now() > deadline) {
      const seen = lastError ? `last error: ${lastError.message}` : `last value: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${seen})`);
    }
    await sleep(intervalMs);
  }
}

async function apiFetch(method, p, { cookie, csrf, body } = {}) {
  const headers = { accept: 'application/json' };
  if (cookie) headers.cookie = cookie;
  if (csrf) headers['x-csrf-token'] = csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(BASE + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'manual' });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
  return { status: res.status, json, text, setCookies: res.headers.getSetCookie() };
}

function sessionCookie(setCookies) {
  for (const c of setCookies) {
    const m = /^sagapay_console=([^;]*)/.exec(c);
    if (m && m[1]) return { header: `sagapay_console=${m[1]}`, raw: c };
  }
  return null;
}

// ------------------------------------------------------------------ browser state
let browser;
let context;
let page;
const pageErrors = [];
const nativeDialogs = [];
const postsWithoutCsrf = [];
const apiRequests = []; // {at, method, path}

async function shot(name) {
  await page.screenshot({ path: path.join(SHOTS, name), fullPage: true });
}

const mainHeading = (name) => page.getByRole('heading', { level: 1, name, exact: true });

async function expectHeadingFocused(name) {
  await mainHeading(name).waitFor();
  await waitFor(`the heading "${name}" to have focus`, () => page.evaluate(
    (n) => document.activeElement && document.activeElement.tagName === 'H1' && document.activeElement.textContent.trim() === n, name));
}

async function nav(linkName, heading) {
  if (await page.locator('dialog[open]').count()) await page.keyboard.press('Escape');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: linkName, exact: true }).click();
  await expectHeadingFocused(heading);
}

const idle = (id) => page.locator(`#${id}[aria-busy="false"]`).waitFor();

/** Waits for a table box to finish loading, then returns its body rows as arrays of cell texts. */
async function tableRows(boxId) {
  await idle(boxId);
  return page.locator(`#${boxId} tbody tr`).evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.innerText.trim())));
}

async function reviewIdsShown() {
  await idle('reviews-table');
  return page.locator('#reviews-table tbody input[type="checkbox"]').evaluateAll(
    (boxes) => boxes.map((b) => (b.getAttribute('aria-label') || '').replace(/^Select review /, '')));
}

const reviewBox = (id) => page.getByRole('checkbox', { name: `Select review ${id}`, exact: true });

/** From the first page of the default filters, pages on until every id in ids is on the page. */
async function showReviews(ids) {
  await page.getByRole('button', { name: 'Clear filters' }).click();
  for (let n = 0; n < 40; n++) {
    const shown = await reviewIdsShown();
    if (ids.every((id) => shown.includes(id))) return;
    const next = page.getByRole('navigation', { name: 'Pages' }).getByRole('button', { name: 'Next' });
    if (await next.isDisabled()) break;
    await next.click();
  }
  throw new Error(`pending reviews ${ids.join(', ')} are not listed together on any page of the PENDING reviews`);
}

async function decisionResults() {
  return page.locator('#decision-results li').allInnerTexts();
}

async function loginThroughPage() {
  await page.getByLabel('Operator name', { exact: true }).fill(OPERATOR);
  await page.getByLabel('Ops key', { exact: true }).fill(OPS_KEY);
}

/** Clicks "Log in" and waits for the logged-in page (the Log out button), or fails with the message shown. */
async function submitLogin() {
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  const logout = page.getByRole('button', { name: 'Log out', exact: true });
  await waitFor('the login to finish', async () => {
    if (await logout.isVisible()) return true;
    // Read without waiting: the login view (and #login-message with it) goes away the moment the
    // login succeeds, and a locator read would then wait for it until its own timeout.
    const text = (await page.evaluate(() => document.getElementById('login-message')?.textContent ?? '')).trim();
    if (text && !text.startsWith(SESSION_ENDED)) throw Object.assign(new Error(`login refused: "${text}"`), { final: true });
    return false;
  });
}

// ------------------------------------------------------------------ steps
const steps = [];
const step = (name, needs, fn) => steps.push({ name, needs, fn });

step('1. CSRF and login checks without the browser', [], async () => {
  const login = await apiFetch('POST', '/api/login', { body: { operator: 'e2e-csrf-probe', ops_key: OPS_KEY } });
  assert.equal(login.status, 200, `login with the ops key: HTTP ${login.status} ${login.text}`);
  assert.ok(login.json && typeof login.json.csrf_token === 'string' && login.json.csrf_token.length > 0, 'login answers a csrf_token');
  assert.equal(login.json.operator, 'e2e-csrf-probe');
  const cookie = sessionCookie(login.setCookies);
  assert.ok(cookie, `login sets the sagapay_console cookie (set-cookie: ${JSON.stringify(login.setCookies)})`);
  assert.match(cookie.raw, /;\s*HttpOnly/i, 'the session cookie is HttpOnly');
  assert.match(cookie.raw, /;\s*SameSite=Strict/i, 'the session cookie is SameSite=Strict');

  const session = await apiFetch('GET', '/api/session', { cookie: cookie.header });
  assert.equal(session.status, 200, `GET /api/session with the cookie: HTTP ${session.status}`);

  // A valid body naming a payment that does not exist: only the CSRF check can refuse it.
  const decide = { decision: 'approve', note: 'csrf probe', payment_ids: [crypto.randomUUID()] };
  const noToken = await apiFetch('POST', '/api/reviews/decide', { cookie: cookie.header, body: decide });
  assert.equal(noToken.status, 403, `decide without x-csrf-token: HTTP ${noToken.status} ${noToken.text}`);
  assert.equal(noToken.json?.error?.code, 'csrf_invalid', `decide without x-csrf-token: ${noToken.text}`);
  const wrongToken = await apiFetch('POST', '/api/reviews/decide', { cookie: cookie.header, csrf: `${login.json.csrf_token}x`, body: decide });
  assert.equal(wrongToken.status, 403, `decide with a wrong x-csrf-token: HTTP ${wrongToken.status}`);
  assert.equal(wrongToken.json?.error?.code, 'csrf_invalid');

  const noCookie = await apiFetch('GET', '/api/reviews');
  assert.equal(noCookie.status, 401, `GET /api/reviews without a cookie: HTTP ${noCookie.status}`);
  assert.equal(noCookie.json?.error?.code, 'session_required');

  const wrongKey = await apiFetch('POST', '/api/login', { body: { operator: 'e2e-csrf-probe', ops_key: `${OPS_KEY}-wrong` } });
  assert.equal(wrongKey.status, 401, `login with a wrong key: HTTP ${wrongKey.status} ${wrongKey.text}`);
  assert.equal(wrongKey.json?.error?.code, 'unauthorized');
  assert.equal(sessionCookie(wrongKey.setCookies), null, 'a refused login sets no session cookie');

  const logout = await apiFetch('POST', '/api/logout', { cookie: cookie.header, csrf: login.json.csrf_token });
  assert.equal(logout.status, 204, `logout: HTTP ${logout.status}`);
});

step('2. log in through the page', [], async () => {
  await page.goto(`${BASE}/`);
  await page.getByLabel('Operator name', { exact: true }).waitFor();
  const message = page.locator('#login-message');
  assert.equal(await message.getAttribute('role'), 'alert', '#login-message has role=alert');
  assert.equal((await message.innerText()).trim(), '', 'a first visit shows no login message');
  await loginThroughPage();
  await shot('login.png');
  await submitLogin();
  await expectHeadingFocused('Reviews');
  assert.equal(new URL(page.url()).hash, '#/reviews', 'the default view after login is #/reviews');
  assert.equal((await page.locator('#operator-name').innerText()).trim(), OPERATOR);
});

step('3. reviews: filter, approve, deny in bulk, already decided', ['2. log in through the page'], async () => {
  await nav('Reviews', 'Reviews');
  await reviewIdsShown();

  // The reason select is filled from the answer's reasons.
  const reasons = await page.getByLabel('Reason', { exact: true }).locator('option').allInnerTexts();
  assert.ok(reasons.length >= 2, `the reason select lists the API's reasons (has ${JSON.stringify(reasons)})`);

  // Filter by one customer: exactly that customer's reviews show.
  const customer = FIX.review_customers[FILTER_INDEX];
  const expected = FIX.reviews.filter((_, i) => FIX.review_customers[i] === customer).sort();
  await page.getByLabel('Customer', { exact: true }).fill(customer);
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await waitFor(`exactly ${expected.join(', ')} listed for customer ${customer}`, async () => {
    const shown = (await reviewIdsShown()).sort();
    return JSON.stringify(shown) === JSON.stringify(expected);
  });
  const filtered = await tableRows('reviews-table');
  assert.ok(filtered.every((cells) => cells[2] === customer), `every row is customer ${customer}: ${JSON.stringify(filtered)}`);

  // Clear: the filter is gone.
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await waitFor('the customer filter to clear', async () => (await page.getByLabel('Customer', { exact: true }).inputValue()) === ''
    && (await reviewIdsShown()).length > expected.length);

  // Approve one with a note.
  await showReviews([APPROVE_ID]);
  await reviewBox(APPROVE_ID).check();
  await page.getByLabel('Note', { exact: true }).fill('e2e: approved from the console test <ok>');
  await page.getByRole('button', { name: 'Approve selected' }).click();
  await waitFor(`"${APPROVE_ID}: approved" in the results`, async () => (await decisionResults()).includes(`${APPROVE_ID}: approved`));

  // Deny two at once.
  await showReviews([DENY_ID_1, DENY_ID_2]);
  assert.ok(!(await reviewIdsShown()).includes(APPROVE_ID), 'the approved review left the PENDING list');
  await reviewBox(DENY_ID_1).check();
  await reviewBox(DENY_ID_2).check();
  await page.getByRole('button', { name: 'Deny selected' }).click();
  await waitFor('both denials in the results', async () => {
    const r = await decisionResults();
    return r.includes(`${DENY_ID_1}: denied`) && r.includes(`${DENY_ID_2}: denied`) && r.length === 2;
  });

  // Approving an already-denied one: "already decided", naming who decided first.
  await page.getByLabel('Status', { exact: true }).selectOption('DENIED');
  await page.getByLabel('Customer', { exact: true }).fill(FIX.review_customers[1]);
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await waitFor(`${DENY_ID_1} among the DENIED reviews`, async () => (await reviewIdsShown()).includes(DENY_ID_1));
  await reviewBox(DENY_ID_1).check();
  await page.getByRole('button', { name: 'Approve selected' }).click();
  const line = await waitFor(`"${DENY_ID_1}: already decided" in the results`, async () => (await decisionResults())
    .find((t) => t.startsWith(`${DENY_ID_1}: already decided`)));
  assert.ok(line.includes(OPERATOR), `the already-decided result names ${OPERATOR}: "${line}"`);
  await shot('reviews.png');
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await idle('reviews-table');
});

step('4. payments: final states and the payment page', ['3. reviews: filter, approve, deny in bulk, already decided'], async () => {
  await nav('Payments', 'Payments');
  const want = new Map([[APPROVE_ID, 'SETTLED'], [DENY_ID_1, 'FAILED'], [DENY_ID_2, 'FAILED']]);
  const idField = page.getByLabel('Payment ID', { exact: true });
  const statusOf = async (id) => {
    await idField.fill(id);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    const rows = await tableRows('payments-table');
    const row = rows.find((cells) => cells[0] === id);
    return row ? row[3] : null;
  };
  const seen = new Map();
  await waitFor(`${[...want].map(([id, s]) => `${id} ${s}`).join(', ')} (seen: see below)`, async () => {
    for (const [id, s] of want) {
      if (seen.get(id) === s) continue;
      seen.set(id, await statusOf(id));
    }
    return [...want].every(([id, s]) => seen.get(id) === s);
  }, SETTLE_TIMEOUT_MS, 1000).catch((e) => {
    throw new Error(`${e.message}; statuses seen: ${JSON.stringify(Object.fromEntries(seen))}`);
  });

  await idField.fill(APPROVE_ID);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await idle('payments-table');
  await page.locator('#payments-table').getByRole('link', { name: APPROVE_ID, exact: true }).click();
  await expectHeadingFocused(`Payment ${APPROVE_ID}`);
  await idle('payment-body');
  const summary = await page.locator('dl.summary').innerText();
  assert.match(summary, /SETTLED/, `the payment header shows SETTLED: ${summary}`);
  assert.match(summary, /-?\d+\.\d{2} [A-Z]{3}/, `the amount is shown as units.cents CUR: ${summary}`);
  for (const name of ['Timeline', 'Events', 'PSP attempts', 'Ledger postings', 'Notifications', 'Risk']) {
    assert.equal(await page.getByRole('heading', { level: 2, name, exact: true }).count(), 1, `a "${name}" section`);
  }
  for (const name of ['Timeline', 'Ledger postings', 'PSP attempts']) {
    const rows = await page.getByRole('region', { name, exact: true }).locator('tbody tr').count();
    assert.ok(rows > 0, `the ${name} section has rows`);
  }
  const ledger = await page.getByRole('region', { name: 'Ledger postings', exact: true }).locator('tbody tr').allInnerTexts();
  assert.ok(ledger.every((t) => /\d+\.\d{2} [A-Z]{3}/.test(t)), `ledger amounts are formatted: ${JSON.stringify(ledger)}`);
  await shot('payment.png');
});

async function dlqRow(eventId) {
  await waitFor(`DLQ entry ${eventId} listed`, async () => (await tableRows('dlq-table')).some((c) => c[1] === eventId));
  return page.locator('#dlq-table tbody tr').filter({ hasText: eventId });
}

async function replayThroughDialog(eventId) {
  const outcome = page.locator('#dlq-outcome');
  const before = (await outcome.innerText()).trim();
  await page.getByRole('button', { name: `Replay ${eventId}`, exact: true }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Replay', exact: true }).click();
  await dialog.waitFor({ state: 'hidden' });
  return waitFor(`the replay outcome of ${eventId}`, async () => {
    const t = (await outcome.innerText()).trim();
    return t && t !== before ? t : null;
  });
}

step('4b. a manually captured, partly refunded payment', ['2. log in through the page'], async () => {
  const id = FIX.refunded_payment_id;
  await nav('Payments', 'Payments');
  await page.getByLabel('Payment ID', { exact: true }).fill(id);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await idle('payments-table');
  await page.locator('#payments-table').getByRole('link', { name: id, exact: true }).click();
  await expectHeadingFocused(`Payment ${id}`);
  await idle('payment-body');
  const summary = await page.locator('dl.summary').innerText();
  assert.match(summary, /PARTIALLY_REFUNDED/, `the header shows PARTIALLY_REFUNDED: ${summary}`);
  assert.match(summary, /Capture\s+manual/, `the header says the capture is manual: ${summary}`);
  assert.match(summary, /Captured\s+10\.00 USD/, `the header shows 10.00 USD captured of 15.00: ${summary}`);
  assert.match(summary, /Refunded\s+3\.00 USD/, `the header shows 3.00 USD refunded: ${summary}`);
  const refunds = await page.getByRole('region', { name: 'Refunds', exact: true }).locator('tbody tr').allInnerTexts();
  assert.equal(refunds.length, 1, `one refund listed: ${JSON.stringify(refunds)}`);
  assert.ok(refunds[0].includes(FIX.refund_id), `the refund's id: ${refunds[0]}`);
  assert.match(refunds[0], /3\.00 USD/, `the refund's amount: ${refunds[0]}`);
  assert.match(refunds[0], /SUCCEEDED/, `the refund's status: ${refunds[0]}`);
  const ledger = await page.getByRole('region', { name: 'Ledger postings', exact: true }).locator('tbody tr').allInnerTexts();
  assert.ok(ledger.some((t) => /REFUND/.test(t) && /3\.00 USD/.test(t)), `a REFUND posting of 3.00 USD: ${JSON.stringify(ledger)}`);
  await shot('payment-refunded.png');
});

step('5. DLQ: refused and replayed', ['2. log in through the page'], async () => {
  await nav('DLQ', 'Dead-letter queues');
  const outcome = page.locator('#dlq-outcome');
  assert.equal(await outcome.getAttribute('role'), 'status', '#dlq-outcome has role=status');

  await page.getByLabel('Topic', { exact: true }).selectOption('payments.dlq');
  const refused = FIX.refused_dlq_event_id;
  const row = await dlqRow(refused);
  const cells = await row.locator('td').allInnerTexts();
  assert.equal(cells[2].trim(), FIX.refused_dlq_payment_id, `the refused entry's payment: ${JSON.stringify(cells)}`);
  const paymentStatus = cells[7].trim();

  // Inspect shows the parked envelope.
  await page.getByRole('button', { name: `Inspect ${refused}`, exact: true }).click();
  const envelope = page.locator('#dlq-envelope');
  await envelope.waitFor();
  const text = await waitFor('the inspected envelope', async () => (await envelope.innerText()).trim());
  assert.ok(text.length > 2, 'the envelope is shown');

  // Cancel in the in-page dialog does nothing.
  await page.getByRole('button', { name: `Replay ${refused}`, exact: true }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
  await dialog.waitFor({ state: 'hidden' });
  await sleep(300);
  assert.equal((await outcome.innerText()).trim(), '', 'Cancel replays nothing');

  const refusal = await replayThroughDialog(refused);
  assert.ok(refusal.startsWith('Refused'), `replaying ${refused} is refused: "${refusal}"`);
  assert.match(refusal, /\b(REVERSED|SETTLED|FAILED)\b/, `the refusal names the payment's final status: "${refusal}"`);
  if (/^[A-Z_]+$/.test(paymentStatus)) {
    assert.ok(refusal.includes(paymentStatus), `the refusal names the listed status ${paymentStatus}: "${refusal}"`);
  }

  await page.getByLabel('Topic', { exact: true }).selectOption('deadletter');
  const replayable = FIX.replayable_dlq_event_id;
  const row2 = await dlqRow(replayable);
  const cells2 = await row2.locator('td').allInnerTexts();
  assert.equal(cells2[2].trim(), FIX.replayable_dlq_payment_id, `the replayable entry's payment: ${JSON.stringify(cells2)}`);
  const replayed = await replayThroughDialog(replayable);
  const m = /^Replayed as (\S+) to (\S+)$/.exec(replayed);
  assert.ok(m, `replaying ${replayable} succeeds: "${replayed}"`);
  assert.notEqual(m[1], replayable, 'the replay is a new event');
  await shot('dlq.png');
});

step('6. health: services and charts', ['2. log in through the page'], async () => {
  await nav('Health', 'Health');
  const rows = await waitFor('the services table', async () => {
    const r = await page.locator('#health-services tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.innerText.trim())));
    return r.length > 0 ? r : null;
  });
  const up = rows.filter((c) => c[1] === 'up');
  const down = rows.filter((c) => c[1] !== 'up');
  assert.ok(up.length > 0, `services shown up: ${JSON.stringify(rows)}`);
  if (down.length) console.log(`  note: services down: ${down.map((c) => `${c[0]} (${c[2]})`).join(', ')}`);
  const source = (await page.locator('#health-source').innerText()).trim();
  assert.ok(['prometheus', 'services'].includes(source), `the data source is shown: "${source}"`);
  const charts = page.locator('#health-charts svg[role="img"]');
  await waitFor('five charts', async () => (await charts.count()) === 5);
  await waitFor('a chart with a line drawn', async () => (await page.locator('#health-charts svg path.line, #health-charts svg circle').count()) > 0, 12000);

  // Polls every 2 s while open.
  const t0 = Date.now();
  await sleep(4500);
  const polls = apiRequests.filter((r) => r.path === '/api/health' && r.at >= t0).length;
  assert.ok(polls >= 2, `health polls every 2 s (${polls} calls in 4.5 s)`);
  await shot('health.png');
});

step('7. audit: the decisions and replays', ['3. reviews: filter, approve, deny in bulk, already decided', '5. DLQ: refused and replayed'], async () => {
  const t0 = Date.now();
  await nav('Audit', 'Audit log');
  let rows = await tableRows('audit-table');
  for (let pageNo = 1; pageNo < 6; pageNo++) {
    const next = page.getByRole('navigation', { name: 'Pages' }).getByRole('button', { name: 'Next' });
    if (await next.isDisabled()) break;
    await next.click();
    rows = rows.concat(await tableRows('audit-table'));
  }
  const mine = rows.filter((c) => c[1] === OPERATOR);
  const textOf = (c) => c.join(' | ');
  const decisions = mine.filter((c) => /review|decid|approv|deny|denied/i.test(textOf(c)));
  const replays = mine.filter((c) => /replay/i.test(c[2]));
  assert.ok(decisions.some((c) => textOf(c).includes(APPROVE_ID) && /approv/i.test(textOf(c))),
    `an audit entry by ${OPERATOR} for approving ${APPROVE_ID}; entries by ${OPERATOR}: ${JSON.stringify(mine)}`);
  for (const id of [DENY_ID_1, DENY_ID_2]) {
    assert.ok(decisions.some((c) => textOf(c).includes(id) && /den/i.test(textOf(c))),
      `an audit entry by ${OPERATOR} for denying ${id}; entries by ${OPERATOR}: ${JSON.stringify(mine)}`);
  }
  assert.ok(replays.some((c) => textOf(c).includes(FIX.replayable_dlq_event_id) || textOf(c).includes(FIX.replayable_dlq_payment_id)),
    `an audit entry by ${OPERATOR} for the replay of ${FIX.replayable_dlq_event_id}; entries by ${OPERATOR}: ${JSON.stringify(mine)}`);
  const previous = page.getByRole('navigation', { name: 'Pages' }).getByRole('button', { name: 'Previous' });
  while (!(await previous.isDisabled())) {
    await previous.click();
    await idle('audit-table');
  }
  await shot('audit.png');
  // Leaving Health stopped its polling.
  assert.equal(apiRequests.filter((r) => r.path === '/api/health' && r.at > t0 + 2500).length, 0, 'no health polls after leaving Health');
});

step('8. session expiry after idling', ['2. log in through the page'], async () => {
  if (!(await mainHeading('Audit log').count())) await nav('Audit', 'Audit log');
  await idle('audit-table');
  await sleep(300);
  const t0 = Date.now();
  await sleep((IDLE_SECONDS + 2) * 1000);
  const during = apiRequests.filter((r) => r.at >= t0);
  assert.equal(during.length, 0, `no API call while idling: ${JSON.stringify(during)}`);
  await page.reload();
  const message = page.locator('#login-message');
  await waitFor('the session-ended message', async () => (await message.innerText()).includes(SESSION_ENDED));
  assert.equal(await message.getAttribute('role'), 'alert');
  await page.getByLabel('Operator name', { exact: true }).waitFor();
  assert.equal(await page.locator('#topbar').isVisible(), false, 'the nav bar is hidden on the login view');
});

step('9. log in again, log out, API answers 401', [], async () => {
  if (!(await page.getByLabel('Operator name', { exact: true }).count())) await page.goto(`${BASE}/`);
  await loginThroughPage();
  await submitLogin();
  const cookie = (await context.cookies(BASE)).find((c) => c.name === 'sagapay_console');
  assert.ok(cookie, 'the browser holds the sagapay_console cookie');
  assert.equal(cookie.httpOnly, true, 'the cookie is HttpOnly');
  const inPage = await page.evaluate(() => fetch('/api/session').then((r) => r.status));
  assert.equal(inPage, 200, 'the session answers while logged in');

  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await page.getByLabel('Operator name', { exact: true }).waitFor();
  const after = await page.evaluate(() => fetch('/api/session').then((r) => r.status));
  assert.equal(after, 401, `GET /api/session from the page after logout: HTTP ${after}`);
  const old = await apiFetch('GET', '/api/reviews', { cookie: `sagapay_console=${cookie.value}` });
  assert.equal(old.status, 401, `the old cookie after logout: HTTP ${old.status}`);
  assert.equal(old.json?.error?.code, 'session_required');
});

// ------------------------------------------------------------------ run
async function main() {
  const watchdog = setTimeout(() => {
    console.error(`console_test: gave up after ${TOTAL_TIMEOUT_MS / 1000} s`);
    process.exit(1);
  }, TOTAL_TIMEOUT_MS);
  watchdog.unref();

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox'],
  });
  context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('dialog', async (d) => {
    nativeDialogs.push(`${d.type()}: ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (!u.pathname.startsWith('/api/')) return;
    apiRequests.push({ at: Date.now(), method: r.method(), path: u.pathname });
    if (r.method() === 'POST' && u.pathname !== '/api/login' && !r.headers()['x-csrf-token']) {
      postsWithoutCsrf.push(u.pathname);
    }
  });

  const outcome = new Map();
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const s of steps) {
    const missing = s.needs.filter((n) => outcome.get(n) !== 'passed');
    if (missing.length) {
      console.log(`SKIP ${s.name} (needs: ${missing.join('; ')})`);
      outcome.set(s.name, 'skipped');
      skipped++;
      continue;
    }
    const t0 = Date.now();
    try {
      await s.fn();
      outcome.set(s.name, 'passed');
      passed++;
      console.log(`ok   ${s.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    } catch (e) {
      outcome.set(s.name, 'failed');
      failed++;
      console.log(`FAIL ${s.name}: ${e.message}`);
      const frames = (e.stack || '').split('\n').filter((l) => /^\s+at .*console_test\.mjs/.test(l)).slice(0, 3);
      if (frames.length) console.log(frames.join('\n'));
      const file = `failure-${s.name.split('.')[0]}.png`;
      await page.screenshot({ path: path.join(SHOTS, file), fullPage: true }).catch(() => {});
      console.log(`     screenshot: ${path.join(SHOTS, file)}`);
    }
  }

  const global = [
    ['no JavaScript errors in the page', pageErrors],
    ['no native confirm/alert dialogs', nativeDialogs],
    ['every POST from the page carries x-csrf-token', postsWithoutCsrf],
  ];
  for (const [name, problems] of global) {
    if (problems.length === 0) {
      passed++;
      console.log(`ok   ${name}`);
    } else {
      failed++;
      console.log(`FAIL ${name}: ${JSON.stringify(problems)}`);
    }
  }
  console.log(`screenshots: ${SHOTS}`);
  console.log(`console: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  return failed === 0 && skipped === 0;
}

let ok = false;
try {
  ok = await main();
} catch (e) {
  console.error(`console_test: ${e.stack || e.message}`);
} finally {
  if (browser) await browser.close().catch(() => {});
}
process.exit(ok ? 0 : 1);
