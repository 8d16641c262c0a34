// SagaPay ops console: the browser side of app/console (API contract: app/console/README.md).
// Vanilla ES2020, no framework, nothing fetched but this origin's /api/. Every string from the
// server is rendered through textContent / text nodes (never innerHTML): it includes
// customer-provided text.
'use strict';

(() => {
  const LIMIT = 50;
  const HEALTH_POLL_MS = 2000;
  const SESSION_FLAG = 'sagapay.console.had_session';
  const SESSION_ENDED_TEXT = 'Your session has ended, log in again';
  const PAYMENT_STATUSES = ['CREATED', 'RISK_REVIEW', 'APPROVED', 'AUTHORIZED', 'CAPTURED', 'SETTLED', 'FAILED', 'REVERSED', 'PARTIALLY_REFUNDED', 'REFUNDED'];
  const REVIEW_STATUSES = ['PENDING', 'APPROVED', 'DENIED'];
  const DLQ_TOPICS = ['payments.dlq', 'deadletter'];
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const REVIEW_DEFAULTS = Object.freeze({
    status: 'PENDING', reason: '', currency: '', customer: '', min_amount: '', max_amount: '',
    min_age_seconds: '', max_age_seconds: '', sort: 'created_at', order: 'desc',
  });
  const PAYMENT_DEFAULTS = Object.freeze({
    payment_id: '', customer: '', idempotency_key: '', status: '', from: '', to: '',
  });

  const state = {
    session: null, // {operator, csrf_token, idle_timeout_seconds}; the CSRF token lives only here
    viewSeq: 0, // bumped on every navigation: answers for an older view are dropped
    healthTimer: null,
    reviews: { filters: { ...REVIEW_DEFAULTS }, offset: 0, reasons: [] },
    payments: { filters: { ...PAYMENT_DEFAULTS }, offset: 0 },
    dlq: { topic: DLQ_TOPICS[0], reason: '' },
    audit: { offset: 0 },
  };

  const $ = (id) => document.getElementById(id);
  let uid = 0;
  const nextId = (prefix) => `${prefix}-${++uid}`;

  // ---------------------------------------------------------------- DOM helpers
  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  /** h('a', {href, class, onclick}, ...children): strings become text nodes, never markup. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    let value;
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'value') value = v;
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (v === true) el.setAttribute(k, '');
        else el.setAttribute(k, String(v));
      }
    }
    append(el, children);
    if (value !== undefined) el.value = value;
    return el;
  }

  function svg(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined) el.setAttribute(k, String(v));
    }
    append(el, children);
    return el;
  }

  function field(labelText, control, extraClass) {
    if (!control.id) control.id = nextId('f');
    return h('div', { class: `field${extraClass ? ` ${extraClass}` : ''}` },
      h('label', { for: control.id }, labelText), control);
  }

  function selectEl(name, options, value) {
    return h('select', { name, value },
      options.map(([v, text]) => h('option', { value: v }, text)));
  }

  function errorRegion() {
    return h('div', { class: 'error', role: 'alert' });
  }

  function showError(region, err, form) {
    if (form) {
      for (const el of form.querySelectorAll('[aria-invalid="true"]')) el.removeAttribute('aria-invalid');
    }
    if (!err) {
      region.textContent = '';
      return;
    }
    if (err instanceof SessionEnded) return;
    const code = err.code ? ` (${err.code})` : '';
    region.textContent = `${err.message || String(err)}${code}`;
    if (form && err.field) {
      const bad = form.elements.namedItem(err.field);
      if (bad && bad.setAttribute) bad.setAttribute('aria-invalid', 'true');
    }
  }

  function tableEl(label, headers, rows, opts = {}) {
    const table = h('table', opts.captionless ? { 'aria-label': label } : null);
    if (!opts.captionless) table.append(h('caption', null, label));
    table.append(h('thead', null, h('tr', null, headers.map((hd) => {
      const [text, cls] = Array.isArray(hd) ? hd : [hd, null];
      return h('th', { scope: 'col', class: cls }, text);
    }))));
    table.append(h('tbody', null, rows));
    return h('div', { class: 'table-wrap' }, table);
  }

  const td = (content, cls) => h('td', { class: cls }, content);

  function statusBadge(status) {
    if (status === null || status === undefined || status === '') return '—';
    const s = String(status);
    return h('span', { class: `status ${s.replace(/[^A-Za-z0-9_-]/g, '')}` }, s);
  }

  function paymentLink(id) {
    if (id === null || id === undefined || id === '') return '—';
    return h('a', { href: `#/payments/${encodeURIComponent(String(id))}`, class: 'mono' }, String(id));
  }

  // ---------------------------------------------------------------- formatting
  /** Integer minor units → "1234.56 EUR", by integer/string arithmetic only (no float money). */
  function formatMoney(minor, currency) {
    const cur = currency ? ` ${currency}` : '';
    let digits;
    try {
      if (typeof minor === 'string' && !/^-?\d+$/.test(minor.trim())) throw new Error('not an integer');
      digits = BigInt(typeof minor === 'string' ? minor.trim() : minor).toString();
    } catch (_) {
      return minor === null || minor === undefined ? '—' : `${String(minor)}${cur}`;
    }
    const negative = digits.startsWith('-');
    if (negative) digits = digits.slice(1);
    digits = digits.padStart(3, '0');
    return `${negative ? '-' : ''}${digits.slice(0, -2)}.${digits.slice(-2)}${cur}`;
  }

  function toDate(v) {
    if (v === null || v === undefined || v === '') return null;
    const d = typeof v === 'number' ? new Date(v < 1e11 ? v * 1000 : v) : new Date(v);
    return Number.isNaN(d.getTime()) ? null : d;
  }

  /** Times are shown in UTC, "2025-01-31 12:34:56Z"; an unparseable value is shown as sent. */
  function formatTime(v) {
    const d = toDate(v);
    if (!d) return v === null || v === undefined || v === '' ? '—' : String(v);
    return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  }

  function timeEl(v) {
    const d = toDate(v);
    return h('time', { datetime: d ? d.toISOString() : null, title: v === null || v === undefined ? null : String(v) }, formatTime(v));
  }

  function formatAge(seconds) {
    const s = Number(seconds);
    if (!Number.isFinite(s)) return '—';
    const t = Math.max(0, Math.floor(s));
    if (t < 60) return `${t} s`;
    if (t < 3600) return `${Math.floor(t / 60)} min ${t % 60} s`;
    if (t < 86400) return `${Math.floor(t / 3600)} h ${Math.floor((t % 3600) / 60)} min`;
    return `${Math.floor(t / 86400)} d ${Math.floor((t % 86400) / 3600)} h`;
  }

  function compactJson(v) {
    if (v === undefined) return '';
    if (typeof v === 'string') return v;
    try { return JSON.stringify(v); } catch (_) { return String(v); }
  }

  function prettyJson(v) {
    if (typeof v === 'string') {
      try { return JSON.stringify(JSON.parse(v), null, 2); } catch (_) { return v; }
    }
    try { return JSON.stringify(v, null, 2); } catch (_) { return String(v); }
  }

  const show = (v) => (v === null || v === undefined || v === '' ? '—' : String(v));

  // ---------------------------------------------------------------- API
  class ApiError extends Error {
    constructor(status, code, message, fieldName) {
      super(message);
      this.status = status;
      this.code = code;
      this.field = fieldName;
    }
  }
  class SessionEnded extends Error {
    constructor() { super(SESSION_ENDED_TEXT); }
  }

  function queryString(query) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(query || {})) {
      if (v === null || v === undefined || v === '') continue;
      p.set(k, String(v));
    }
    const s = p.toString();
    return s ? `?${s}` : '';
  }

  /**
   * One call to the console API. Every POST carries x-csrf-token. A 401 ends the session (back to
   * the login view with SESSION_ENDED_TEXT) unless `session: false` (login, the resume check and
   * logout handle their own 401). API errors throw ApiError {status, code, message, field}.
   */
  async function api(method, path, { query, body, session = true } = {}) {
    const headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && state.session && state.session.csrf_token) {
      headers['x-csrf-token'] = state.session.csrf_token;
    }
    let res;
    try {
      res = await fetch(path + queryString(query), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
        redirect: 'error',
      });
    } catch (e) {
      throw new ApiError(0, 'network_error', `The console server could not be reached: ${e.message}`);
    }
    if (res.status === 401 && session) {
      sessionEnded();
      throw new SessionEnded();
    }
    if (res.status === 204) return null;
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (_) {
        if (res.ok) throw new ApiError(res.status, 'bad_response', 'The server answered with something that is not JSON');
      }
    }
    if (!res.ok) {
      const e = (data && data.error) || {};
      throw new ApiError(res.status, e.code || `http_${res.status}`, e.message || `HTTP ${res.status} ${res.statusText}`, e.field);
    }
    return data;
  }

  // ---------------------------------------------------------------- session + routing
  function setSession(s) {
    state.session = {
      operator: String(s.operator || ''),
      csrf_token: String(s.csrf_token || ''),
      idle_timeout_seconds: s.idle_timeout_seconds,
    };
    try { sessionStorage.setItem(SESSION_FLAG, '1'); } catch (_) { /* storage off: no resume hint */ }
    $('operator-name').textContent = state.session.operator;
    $('topbar').hidden = false;
  }

  function clearSession() {
    state.session = null;
    stopHealthPolling();
    state.viewSeq++;
    const dlg = $('replay-dialog');
    if (dlg.open) dlg.close();
    $('topbar').hidden = true;
    $('operator-name').textContent = '';
  }

  function sessionEnded() {
    if (!state.session && $('login-form')) {
      // Already on the login view (several calls answered 401 at once): just say why.
      setLoginMessage(SESSION_ENDED_TEXT, false);
      return;
    }
    clearSession();
    renderLogin(SESSION_ENDED_TEXT, false);
  }

  function setLoginMessage(text, info) {
    const m = $('login-message');
    if (!m) return;
    m.textContent = text || '';
    m.classList.toggle('info', Boolean(info));
  }

  function renderLogin(message, info) {
    document.title = 'Log in · SagaPay ops console';
    const operator = h('input', { type: 'text', name: 'operator', required: true, maxlength: 64, autocomplete: 'username', spellcheck: 'false' });
    const key = h('input', { type: 'password', name: 'ops_key', required: true, autocomplete: 'current-password' });
    const submit = h('button', { type: 'submit' }, 'Log in');
    const form = h('form', { id: 'login-form', 'aria-labelledby': 'login-title', novalidate: true },
      field('Operator name', operator),
      field('Ops key', key),
      h('div', { class: 'actions' }, submit));
    const heading = h('h1', { id: 'login-title', tabindex: '-1' }, 'SagaPay ops console: log in');
    const view = h('div', { class: 'login' },
      heading,
      h('p', { id: 'login-message', role: 'alert' }),
      form);
    $('main').replaceChildren(view);
    setLoginMessage(message, info);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const name = operator.value.trim();
      if (!name || name.length > 64) {
        operator.setAttribute('aria-invalid', 'true');
        setLoginMessage('Enter your operator name (1 to 64 characters).', false);
        operator.focus();
        return;
      }
      operator.removeAttribute('aria-invalid');
      if (!key.value) {
        key.setAttribute('aria-invalid', 'true');
        setLoginMessage('Enter the ops key.', false);
        key.focus();
        return;
      }
      key.removeAttribute('aria-invalid');
      submit.disabled = true;
      setLoginMessage('', false);
      try {
        const s = await api('POST', '/api/login', { body: { operator: name, ops_key: key.value }, session: false });
        key.value = '';
        setSession(s);
        const r = parseRoute();
        if (!r.known || r.name === 'login') location.hash = '#/reviews';
        else route();
      } catch (e) {
        submit.disabled = false;
        if (e.status === 401) {
          setLoginMessage(`Log in refused: ${e.message || 'wrong ops key'}`, false);
          key.setAttribute('aria-invalid', 'true');
          key.select();
        } else {
          setLoginMessage(`Log in failed: ${e.message}${e.code ? ` (${e.code})` : ''}`, false);
          if (e.field === 'operator') operator.setAttribute('aria-invalid', 'true');
          if (e.field === 'ops_key') key.setAttribute('aria-invalid', 'true');
        }
      }
    });
    // The first field gets focus; a message (role=alert) is announced on its own.
    (message ? heading : operator).focus();
  }

  function parseRoute() {
    const raw = location.hash.replace(/^#\/?/, '');
    const path = raw.split('?')[0];
    const parts = path.split('/').filter(Boolean);
    if (parts.length === 0) return { name: 'reviews', known: false };
    const [first, ...rest] = parts;
    if (first === 'payments' && rest.length > 0) {
      let id;
      try { id = decodeURIComponent(rest.join('/')); } catch (_) { id = rest.join('/'); }
      return { name: 'payment', id, known: true };
    }
    if (['reviews', 'payments', 'dlq', 'health', 'audit', 'login'].includes(first) && rest.length === 0) {
      return { name: first, known: true };
    }
    return { name: 'notfound', known: true, path };
  }

  function route() {
    if (!state.session) return; // the login view stays until a session exists
    stopHealthPolling();
    const seq = ++state.viewSeq;
    const r = parseRoute();
    if (!r.known || r.name === 'login') {
      history.replaceState(null, '', '#/reviews');
      route();
      return;
    }
    const navName = r.name === 'payment' ? 'payments' : r.name;
    for (const a of document.querySelectorAll('#topbar nav a')) {
      if (a.dataset.route === navName) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    const render = {
      reviews: renderReviews, payments: renderPayments, payment: renderPayment,
      dlq: renderDlq, health: renderHealth, audit: renderAudit, notfound: renderNotFound,
    }[r.name];
    const view = render(seq, r);
    $('main').replaceChildren(view);
    const heading = view.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus();
      document.title = `${heading.textContent} · SagaPay ops console`;
    }
  }

  const current = (seq) => seq === state.viewSeq && state.session !== null;

  function viewHeading(text, extra) {
    return h('div', { class: 'view-head' }, h('h1', { tabindex: '-1' }, text), extra || null);
  }

  function pager(onMove) {
    const prev = h('button', { type: 'button', class: 'secondary' }, 'Previous');
    const next = h('button', { type: 'button', class: 'secondary' }, 'Next');
    const info = h('span', { class: 'muted' });
    prev.addEventListener('click', () => onMove(-1));
    next.addEventListener('click', () => onMove(1));
    const el = h('nav', { class: 'pager', 'aria-label': 'Pages' }, prev, info, next);
    return {
      el,
      update(offset, count, hasMore) {
        prev.disabled = offset <= 0;
        next.disabled = !hasMore;
        info.textContent = count > 0 ? `Rows ${offset + 1}–${offset + count}` : (offset > 0 ? `No rows from ${offset + 1}` : 'No rows');
      },
    };
  }

  function formValues(form, defaults) {
    const out = {};
    for (const k of Object.keys(defaults)) {
      const el = form.elements.namedItem(k);
      out[k] = el ? String(el.value).trim() : defaults[k];
    }
    return out;
  }

  function setFormValues(form, values) {
    for (const [k, v] of Object.entries(values)) {
      const el = form.elements.namedItem(k);
      if (el) el.value = v;
    }
  }

  // ---------------------------------------------------------------- reviews
  function renderReviews(seq) {
    const st = state.reviews;
    const f = st.filters;
    const reasonSel = selectEl('reason', [['', 'Any reason'], ...st.reasons.map((r) => [r, r])], f.reason);
    const orderSel = selectEl('order', [['desc', ''], ['asc', '']], f.order);
    const sortSel = selectEl('sort', [['created_at', 'Created time'], ['amount', 'Amount']], f.sort);
    const labelOrder = () => {
      const byAmount = sortSel.value === 'amount';
      orderSel.options[0].textContent = byAmount ? 'Descending (largest first)' : 'Descending (newest first)';
      orderSel.options[1].textContent = byAmount ? 'Ascending (smallest first)' : 'Ascending (oldest first)';
    };
    labelOrder();
    sortSel.addEventListener('change', labelOrder);

    const form = h('form', { class: 'filters', 'aria-label': 'Review filters', novalidate: true },
      h('div', { class: 'fields' },
        field('Status', selectEl('status', REVIEW_STATUSES.map((s) => [s, s]), f.status)),
        field('Reason', reasonSel),
        field('Currency', h('input', { type: 'text', name: 'currency', class: 'short', maxlength: 3, value: f.currency, autocomplete: 'off' })),
        field('Customer', h('input', { type: 'text', name: 'customer', value: f.customer, autocomplete: 'off' })),
        field('Min amount (cents)', h('input', { type: 'number', name: 'min_amount', min: 0, step: 1, inputmode: 'numeric', value: f.min_amount })),
        field('Max amount (cents)', h('input', { type: 'number', name: 'max_amount', min: 0, step: 1, inputmode: 'numeric', value: f.max_amount })),
        field('Min age (seconds)', h('input', { type: 'number', name: 'min_age_seconds', min: 0, step: 1, inputmode: 'numeric', value: f.min_age_seconds })),
        field('Max age (seconds)', h('input', { type: 'number', name: 'max_age_seconds', min: 0, step: 1, inputmode: 'numeric', value: f.max_age_seconds })),
        field('Sort by', sortSel),
        field('Order', orderSel),
        h('div', { class: 'actions' },
          h('button', { type: 'submit' }, 'Apply filters'),
          h('button', { type: 'button', class: 'secondary', name: 'clear' }, 'Clear filters'))));
    const listError = errorRegion();

    const note = h('textarea', { name: 'note', maxlength: 500, rows: 2 });
    const noteCount = h('span', { class: 'muted', 'aria-live': 'off' }, '0/500');
    note.addEventListener('input', () => { noteCount.textContent = `${note.value.length}/500`; });
    const approveBtn = h('button', { type: 'button' }, 'Approve selected');
    const denyBtn = h('button', { type: 'button', class: 'danger' }, 'Deny selected');
    const selectedInfo = h('span', { class: 'muted', id: nextId('sel') }, 'No review selected');
    const decideError = errorRegion();
    const results = h('ul', { id: 'decision-results', class: 'results', 'aria-live': 'polite', 'aria-label': 'Decision results' });
    const decidePanel = h('section', { class: 'panel', 'aria-labelledby': 'decide-heading' },
      h('h2', { id: 'decide-heading' }, 'Decide on the selected reviews'),
      field('Note', note),
      h('div', { class: 'actions' }, approveBtn, denyBtn, selectedInfo, noteCount),
      decideError,
      results);

    const selectAll = h('input', { type: 'checkbox', id: nextId('all'), 'aria-label': 'Select all on page' });
    const tbody = h('tbody');
    const caption = h('caption', null, 'Reviews');
    const table = h('table', null, caption,
      h('thead', null, h('tr', null,
        h('th', { scope: 'col', class: 'select' },
          h('label', { for: selectAll.id, class: 'visually-hidden' }, 'Select all on page'), selectAll),
        ['Payment', 'Customer', ['Amount', 'num'], 'Reason', 'Status', ['Age', 'num'], 'Created', 'Decided by', 'Decided at']
          .map((hd) => (Array.isArray(hd) ? h('th', { scope: 'col', class: hd[1] }, hd[0]) : h('th', { scope: 'col' }, hd))))),
      tbody);
    const tableBox = h('div', { class: 'table-wrap', 'aria-busy': 'false', id: 'reviews-table' }, table);
    const pg = pager((dir) => { st.offset = Math.max(0, st.offset + dir * LIMIT); load(); });

    const checkboxes = () => [...tbody.querySelectorAll('input[type="checkbox"]')];
    const updateSelection = () => {
      const boxes = checkboxes();
      const n = boxes.filter((b) => b.checked).length;
      selectAll.checked = boxes.length > 0 && n === boxes.length;
      selectAll.indeterminate = n > 0 && n < boxes.length;
      selectedInfo.textContent = n === 0 ? 'No review selected' : `${n} selected`;
    };
    selectAll.addEventListener('change', () => {
      for (const b of checkboxes()) b.checked = selectAll.checked;
      updateSelection();
    });

    let loadSeq = 0;
    async function load() {
      const mine = ++loadSeq;
      tableBox.setAttribute('aria-busy', 'true');
      showError(listError, null, form);
      const q = { ...st.filters, limit: LIMIT, offset: st.offset };
      try {
        const data = await api('GET', '/api/reviews', { query: q });
        if (!current(seq) || mine !== loadSeq) return;
        const reviews = Array.isArray(data.reviews) ? data.reviews : [];
        if (Array.isArray(data.reasons)) {
          st.reasons = data.reasons.map(String);
          const keep = reasonSel.value;
          const opts = [['', 'Any reason'], ...st.reasons.map((r) => [r, r])];
          if (keep && !st.reasons.includes(keep)) opts.push([keep, keep]);
          reasonSel.replaceChildren(...opts.map(([v, t]) => h('option', { value: v }, t)));
          reasonSel.value = keep;
        }
        tbody.replaceChildren(...reviews.map((r) => {
          const label = `Select review ${r.payment_id}`;
          const box = h('input', { type: 'checkbox', id: nextId('rv'), 'aria-label': label });
          box.dataset.paymentId = String(r.payment_id);
          box.addEventListener('change', updateSelection);
          return h('tr', null,
            h('td', { class: 'select' }, h('label', { for: box.id, class: 'visually-hidden' }, label), box),
            td(paymentLink(r.payment_id)),
            td(show(r.customer_id), 'wrap'),
            td(formatMoney(r.amount_cents, r.currency), 'num'),
            td(show(r.reason)),
            td(statusBadge(r.status)),
            td(formatAge(r.age_seconds), 'num'),
            td(timeEl(r.created_at), 'nowrap'),
            td(show(r.reviewed_by)),
            td(r.reviewed_at ? timeEl(r.reviewed_at) : '—', 'nowrap'));
        }));
        caption.textContent = `Reviews: ${st.filters.status || 'any status'}, ${reviews.length} on this page`;
        pg.update(st.offset, reviews.length, Boolean(data.has_more));
        updateSelection();
      } catch (e) {
        if (!current(seq) || mine !== loadSeq) return;
        showError(listError, e, form);
      } finally {
        if (mine === loadSeq) tableBox.setAttribute('aria-busy', 'false');
      }
    }

    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      st.filters = formValues(form, REVIEW_DEFAULTS);
      st.offset = 0;
      load();
    });
    form.elements.namedItem('clear').addEventListener('click', () => {
      st.filters = { ...REVIEW_DEFAULTS };
      st.offset = 0;
      setFormValues(form, st.filters);
      labelOrder();
      load();
    });

    async function decide(decision) {
      const ids = checkboxes().filter((b) => b.checked).map((b) => b.dataset.paymentId);
      showError(decideError, null);
      if (ids.length === 0) {
        showError(decideError, new ApiError(0, null, 'Select at least one review first.'));
        return;
      }
      if (note.value.length > 500) {
        showError(decideError, new ApiError(0, null, 'The note is longer than 500 characters.'));
        return;
      }
      approveBtn.disabled = true;
      denyBtn.disabled = true;
      results.replaceChildren();
      try {
        const data = await api('POST', '/api/reviews/decide', { body: { decision, note: note.value, payment_ids: ids } });
        if (!current(seq)) return;
        const list = Array.isArray(data.results) ? data.results : [];
        results.replaceChildren(...list.map((r) => h('li', { class: String(r.outcome || '') }, describeDecision(r))));
        note.value = '';
        noteCount.textContent = '0/500';
        load();
      } catch (e) {
        if (current(seq)) showError(decideError, e);
      } finally {
        approveBtn.disabled = false;
        denyBtn.disabled = false;
      }
    }
    approveBtn.addEventListener('click', () => decide('approve'));
    denyBtn.addEventListener('click', () => decide('deny'));

    load();
    return h('div', null,
      viewHeading('Reviews', h('span', { class: 'muted' }, 'Payments held by risk for a person to decide')),
      form, listError, decidePanel, tableBox, pg.el);
  }

  function describeDecision(r) {
    const id = show(r.payment_id);
    switch (r.outcome) {
      case 'approved': return `${id}: approved`;
      case 'denied': return `${id}: denied`;
      case 'already_decided': {
        const parts = [show(r.status)];
        if (r.decided_by) parts.push(`by ${r.decided_by}`);
        if (r.decided_at) parts.push(`at ${formatTime(r.decided_at)}`);
        return `${id}: already decided (${parts.join(' ')})`;
      }
      case 'not_found': return `${id}: not found${r.message ? ` (${r.message})` : ''}`;
      case 'error': return `${id}: error${r.message ? `: ${r.message}` : ''}`;
      default: return `${id}: ${show(r.outcome)}${r.message ? ` (${r.message})` : ''}`;
    }
  }

  // ---------------------------------------------------------------- payments search
  /** datetime-local "2025-01-31T12:30" is read as UTC (the console shows every time in UTC). */
  function localInputToIso(v) {
    if (!v) return '';
    const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2}(\.\d+)?)?$/.exec(v);
    if (!m) return v;
    return `${m[1]}T${m[2]}${m[3] || ':00'}Z`;
  }

  function renderPayments(seq) {
    const st = state.payments;
    const f = st.filters;
    const form = h('form', { class: 'filters', 'aria-label': 'Payment search', novalidate: true },
      h('div', { class: 'fields' },
        field('Payment ID', h('input', { type: 'text', name: 'payment_id', class: 'id', value: f.payment_id, autocomplete: 'off', spellcheck: 'false' })),
        field('Customer', h('input', { type: 'text', name: 'customer', value: f.customer, autocomplete: 'off' })),
        field('Idempotency key', h('input', { type: 'text', name: 'idempotency_key', value: f.idempotency_key, autocomplete: 'off', spellcheck: 'false' })),
        field('Status', selectEl('status', [['', 'Any status'], ...PAYMENT_STATUSES.map((s) => [s, s])], f.status)),
        field('From (UTC)', h('input', { type: 'datetime-local', name: 'from', step: 1, value: f.from })),
        field('To (UTC)', h('input', { type: 'datetime-local', name: 'to', step: 1, value: f.to })),
        h('div', { class: 'actions' },
          h('button', { type: 'submit' }, 'Search'),
          h('button', { type: 'button', class: 'secondary', name: 'clear' }, 'Clear'))));
    const err = errorRegion();
    const tbody = h('tbody');
    const caption = h('caption', null, 'Payments, newest first');
    const tableBox = h('div', { class: 'table-wrap', 'aria-busy': 'false', id: 'payments-table' },
      h('table', null, caption,
        h('thead', null, h('tr', null,
          ['Payment', 'Customer', ['Amount', 'num'], 'Status', 'Idempotency key', 'Created', 'Updated']
            .map((hd) => (Array.isArray(hd) ? h('th', { scope: 'col', class: hd[1] }, hd[0]) : h('th', { scope: 'col' }, hd))))),
        tbody));
    const pg = pager((dir) => { st.offset = Math.max(0, st.offset + dir * LIMIT); load(); });

    let loadSeq = 0;
    async function load() {
      const mine = ++loadSeq;
      tableBox.setAttribute('aria-busy', 'true');
      showError(err, null, form);
      const q = {
        ...st.filters, from: localInputToIso(st.filters.from), to: localInputToIso(st.filters.to),
        limit: LIMIT, offset: st.offset,
      };
      try {
        const data = await api('GET', '/api/payments', { query: q });
        if (!current(seq) || mine !== loadSeq) return;
        const rows = Array.isArray(data.payments) ? data.payments : [];
        tbody.replaceChildren(...rows.map((p) => h('tr', null,
          td(paymentLink(p.payment_id)),
          td(show(p.customer_id), 'wrap'),
          td(formatMoney(p.amount_cents, p.currency), 'num'),
          td(statusBadge(p.status)),
          td(show(p.idempotency_key), 'wrap mono'),
          td(timeEl(p.created_at), 'nowrap'),
          td(timeEl(p.updated_at), 'nowrap'))));
        caption.textContent = `Payments, newest first: ${rows.length} on this page`;
        pg.update(st.offset, rows.length, Boolean(data.has_more));
      } catch (e) {
        if (!current(seq) || mine !== loadSeq) return;
        showError(err, e, form);
      } finally {
        if (mine === loadSeq) tableBox.setAttribute('aria-busy', 'false');
      }
    }
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      st.filters = formValues(form, PAYMENT_DEFAULTS);
      st.offset = 0;
      load();
    });
    form.elements.namedItem('clear').addEventListener('click', () => {
      st.filters = { ...PAYMENT_DEFAULTS };
      st.offset = 0;
      setFormValues(form, st.filters);
      load();
    });
    load();
    return h('div', null, viewHeading('Payments'), form, err, tableBox, pg.el);
  }

  // ---------------------------------------------------------------- one payment
  function section(title, content) {
    const id = nextId('sec');
    return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), content);
  }

  function rowsOrNone(label, headers, items, toRow) {
    if (!Array.isArray(items) || items.length === 0) return h('p', { class: 'muted' }, 'None recorded.');
    return tableEl(label, headers, items.map(toRow), { captionless: true });
  }

  function renderPayment(seq, r) {
    const id = r.id;
    const body = h('div', { 'aria-busy': 'true', id: 'payment-body' }, h('p', { class: 'loading' }, 'Loading…'));
    const err = errorRegion();
    (async () => {
      try {
        const data = await api('GET', `/api/payments/${encodeURIComponent(id)}`);
        if (!current(seq)) return;
        body.replaceChildren(...paymentBody(data));
      } catch (e) {
        if (!current(seq)) return;
        body.replaceChildren();
        showError(err, e);
      } finally {
        body.setAttribute('aria-busy', 'false');
      }
    })();
    return h('div', null,
      h('p', null, h('a', { href: '#/payments' }, '← Payments')),
      viewHeading(`Payment ${id}`),
      err, body);
  }

  function paymentBody(data) {
    const p = data.payment || {};
    const summary = h('dl', { class: 'summary' },
      h('dt', null, 'Status'), h('dd', null, statusBadge(p.status)),
      h('dt', null, 'Amount'), h('dd', null, formatMoney(p.amount_cents, p.currency)),
      p.capture_method === 'manual' ? [h('dt', null, 'Capture'), h('dd', null, 'manual')] : null,
      p.captured_cents !== null && p.captured_cents !== undefined
        ? [h('dt', null, 'Captured'), h('dd', null, formatMoney(p.captured_cents, p.currency))] : null,
      p.refunded_cents ? [h('dt', null, 'Refunded'), h('dd', null, formatMoney(p.refunded_cents, p.currency))] : null,
      h('dt', null, 'Customer'), h('dd', null, show(p.customer_id)),
      h('dt', null, 'Idempotency key'), h('dd', { class: 'mono' }, show(p.idempotency_key)),
      h('dt', null, 'Trace ID'), h('dd', { class: 'mono' }, show(p.trace_id)),
      h('dt', null, 'Payment ID'), h('dd', { class: 'mono' }, show(p.payment_id)),
      h('dt', null, 'Created'), h('dd', null, timeEl(p.created_at)),
      h('dt', null, 'Updated'), h('dd', null, timeEl(p.updated_at)),
      p.redrive_count ? [h('dt', null, 'Redrives'), h('dd', null, show(p.redrive_count))] : null);

    const timeline = rowsOrNone('Timeline', ['From', 'To', 'Reason', 'Event', 'At'], data.timeline, (t) => h('tr', null,
      td(statusBadge(t.from_state)), td(statusBadge(t.to_state)), td(show(t.reason), 'wrap'),
      td(show(t.event_id), 'mono'), td(timeEl(t.created_at), 'nowrap')));

    const refunds = rowsOrNone('Refunds', ['Refund', ['Amount', 'num'], 'Status', 'Reason', 'Key', 'At'], data.refunds, (r) => h('tr', null,
      td(show(r.refund_id), 'mono'), td(formatMoney(r.amount_cents, r.currency), 'num'), td(show(r.status)),
      td(show(r.failure_reason ? `${r.reason} (${r.failure_reason})` : r.reason), 'wrap'),
      td(show(r.idempotency_key), 'mono'), td(timeEl(r.created_at), 'nowrap')));

    const events = rowsOrNone('Events', ['Event', 'Type', 'Topic', 'Status', 'Created', 'Payload'], data.events, (e) => h('tr', null,
      td(show(e.event_id), 'mono'), td(show(e.event_type)), td(show(e.topic)), td(show(e.status)),
      td(timeEl(e.created_at), 'nowrap'),
      td(h('details', null, h('summary', null, 'Payload'), h('pre', null, prettyJson(e.payload))))));

    const attempts = rowsOrNone('PSP attempts', [['#', 'num'], 'Operation', 'Result', ['Latency (ms)', 'num'], 'Error code', 'At'], data.attempts, (a) => h('tr', null,
      td(show(a.attempt_number), 'num'), td(show(a.operation)), td(show(a.result)),
      td(show(a.latency_ms), 'num'), td(show(a.error_code)), td(timeEl(a.created_at), 'nowrap')));

    const ledger = rowsOrNone('Ledger postings', ['Transaction', 'Purpose', 'Account', 'Direction', ['Amount', 'num'], 'At'], data.ledger, (l) => h('tr', null,
      td(show(l.transaction_id), 'mono'), td(show(l.purpose)), td(show(l.account_id), 'mono'), td(show(l.direction)),
      td(formatMoney(l.amount_cents, l.currency), 'num'), td(timeEl(l.created_at), 'nowrap')));

    const notifications = rowsOrNone('Notifications', ['Outcome', 'Channel', 'Message', 'At'], data.notifications, (n) => h('tr', null,
      td(show(n.outcome)), td(show(n.channel)), td(show(n.message), 'wrap'), td(timeEl(n.created_at), 'nowrap')));

    const riskRows = [];
    const cell = (k, v, currency) => {
      if (k === 'amount_cents') return formatMoney(v, currency);
      if (/_at$/.test(k)) return timeEl(v);
      if (k === 'age_seconds') return formatAge(v);
      return v !== null && typeof v === 'object' ? compactJson(v) : show(v);
    };
    if (data.risk && typeof data.risk === 'object') {
      riskRows.push(['Risk decision', show(data.risk.decision)], ['Risk reason', show(data.risk.reason)]);
      for (const [k, v] of Object.entries(data.risk)) {
        if (['decision', 'reason', 'payment_id'].includes(k)) continue;
        riskRows.push([`Risk ${k.replace(/_/g, ' ')}`, cell(k, v, data.risk.currency)]);
      }
    }
    if (data.review) {
      for (const [k, v] of Object.entries(data.review)) {
        if (k === 'payment_id') continue;
        const shown = cell(k, v, data.review.currency);
        const name = { amount_cents: 'amount', customer_id: 'customer', review_id: 'id' }[k] || k.replace(/_/g, ' ');
        riskRows.push([`Review ${name}`, shown]);
      }
    }
    const risk = riskRows.length === 0
      ? h('p', { class: 'muted' }, 'No risk decision or review recorded.')
      : h('div', { class: 'table-wrap' }, h('table', { 'aria-label': 'Risk', class: 'kv' },
        h('tbody', null, riskRows.map(([k, v]) => h('tr', null, h('th', { scope: 'row' }, k), td(v))))));

    return [
      summary,
      section('Timeline', timeline),
      section('Refunds', refunds),
      section('Events', events),
      section('PSP attempts', attempts),
      section('Ledger postings', ledger),
      section('Notifications', notifications),
      section('Risk', risk),
    ];
  }

  // ---------------------------------------------------------------- DLQ
  function renderDlq(seq) {
    const st = state.dlq;
    const topicSel = selectEl('topic', DLQ_TOPICS.map((t) => [t, t]), st.topic);
    const reasonIn = h('input', { type: 'text', name: 'reason', value: st.reason, autocomplete: 'off' });
    const form = h('form', { class: 'filters', 'aria-label': 'DLQ topic', novalidate: true },
      h('div', { class: 'fields' },
        field('Topic', topicSel),
        field('Reason contains', reasonIn),
        h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Show entries'))));
    const err = errorRegion();
    const outcome = h('div', { id: 'dlq-outcome', role: 'status', class: 'notice outcome' });
    const tbody = h('tbody');
    const caption = h('caption', null, 'DLQ entries');
    const tableBox = h('div', { class: 'table-wrap', 'aria-busy': 'false', id: 'dlq-table' },
      h('table', null, caption,
        h('thead', null, h('tr', null,
          [['#', 'num'], 'Event', 'Payment', 'Reason', 'Error type', 'Replay topic', 'Replayable', 'Payment status', 'Actions']
            .map((hd) => (Array.isArray(hd) ? h('th', { scope: 'col', class: hd[1] }, hd[0]) : h('th', { scope: 'col' }, hd))))),
        tbody));
    const inspectHeading = h('h2', { tabindex: '-1' }, 'Entry');
    const inspectBox = h('section', { 'aria-label': 'Inspected entry', id: 'dlq-inspect', hidden: true },
      inspectHeading, h('pre', { id: 'dlq-envelope' }));
    const inspectErr = errorRegion();
    let shownTopic = st.topic;

    let loadSeq = 0;
    async function load() {
      const mine = ++loadSeq;
      tableBox.setAttribute('aria-busy', 'true');
      showError(err, null, form);
      try {
        const data = await api('GET', '/api/dlq', { query: { topic: st.topic, reason: st.reason } });
        if (!current(seq) || mine !== loadSeq) return;
        shownTopic = data.topic || st.topic;
        const entries = Array.isArray(data.entries) ? data.entries : [];
        tbody.replaceChildren(...entries.map((e) => {
          const inspect = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Inspect ${e.event_id}` }, 'Inspect');
          const replay = h('button', { type: 'button', class: 'small', 'aria-label': `Replay ${e.event_id}` }, 'Replay');
          inspect.addEventListener('click', () => doInspect(e, inspect));
          replay.addEventListener('click', () => askReplay(e, replay));
          return h('tr', null,
            td(show(e.position), 'num'), td(show(e.event_id), 'mono'), td(paymentLink(e.aggregate_id)),
            td(show(e.reason), 'wrap'), td(show(e.error_type)), td(show(e.replay_topic)),
            td(e.replayable === undefined ? '—' : (e.replayable ? 'yes' : 'no')), td(statusBadge(e.payment_status)),
            td(h('div', { class: 'actions' }, inspect, replay)));
        }));
        caption.textContent = `DLQ entries on ${shownTopic}: ${entries.length}`;
      } catch (e) {
        if (!current(seq) || mine !== loadSeq) return;
        showError(err, e, form);
      } finally {
        if (mine === loadSeq) tableBox.setAttribute('aria-busy', 'false');
      }
    }

    async function doInspect(entry, btn) {
      showError(inspectErr, null);
      try {
        const data = await api('GET', '/api/dlq/entry', { query: { topic: shownTopic, event_id: entry.event_id } });
        if (!current(seq)) return;
        inspectHeading.textContent = `Entry ${entry.event_id} on ${shownTopic}`;
        const pre = inspectBox.querySelector('pre');
        pre.textContent = prettyJson(data.envelope !== undefined ? data.envelope : data);
        inspectBox.hidden = false;
        inspectHeading.focus();
      } catch (e) {
        if (current(seq)) {
          showError(inspectErr, e);
          btn.focus();
        }
      }
    }

    function askReplay(entry, btn) {
      const dlg = $('replay-dialog');
      const topic = shownTopic;
      $('replay-dialog-text').textContent =
        `Replay event ${entry.event_id} (payment ${show(entry.aggregate_id)}) from ${topic} to ${show(entry.replay_topic)}?`;
      const confirm = $('replay-confirm');
      const cancel = $('replay-cancel');
      const finish = (go) => {
        confirm.removeEventListener('click', onConfirm);
        cancel.removeEventListener('click', onCancel);
        dlg.removeEventListener('cancel', onCancel);
        if (dlg.open) dlg.close();
        if (btn.isConnected) btn.focus();
        if (go) replay(entry, topic);
      };
      const onConfirm = () => finish(true);
      const onCancel = (ev) => { if (ev) ev.preventDefault(); finish(false); };
      confirm.addEventListener('click', onConfirm);
      cancel.addEventListener('click', onCancel);
      dlg.addEventListener('cancel', onCancel);
      dlg.showModal();
      cancel.focus();
    }

    async function replay(entry, topic) {
      outcome.textContent = '';
      outcome.classList.remove('ok', 'bad');
      showError(err, null);
      try {
        const data = await api('POST', '/api/dlq/replay', { body: { topic, event_id: entry.event_id } });
        if (!current(seq)) return;
        outcome.textContent = `Replayed as ${show(data.new_event_id)} to ${show(data.replay_topic)}`;
        outcome.classList.add('ok');
        load();
      } catch (e) {
        if (!current(seq) || e instanceof SessionEnded) return;
        if (e.status === 409 || e.code === 'replay_refused') {
          outcome.textContent = `Refused: ${e.message}`;
        } else {
          outcome.textContent = `Not replayed: ${e.message}${e.code ? ` (${e.code})` : ''}`;
        }
        outcome.classList.add('bad');
      }
    }

    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      st.topic = topicSel.value;
      st.reason = reasonIn.value.trim();
      load();
    });
    topicSel.addEventListener('change', () => {
      st.topic = topicSel.value;
      st.reason = reasonIn.value.trim();
      inspectBox.hidden = true;
      load();
    });
    load();
    return h('div', null,
      viewHeading('Dead-letter queues', h('span', { class: 'muted' }, 'Replays are refused for payments in a final state')),
      form, err, outcome, tableBox, inspectErr, inspectBox);
  }

  // ---------------------------------------------------------------- health
  function stopHealthPolling() {
    if (state.healthTimer !== null) {
      clearTimeout(state.healthTimer);
      state.healthTimer = null;
    }
  }

  /** An axis label: short enough for the chart's left margin ("250", "2.5k", "1.2M", "0.05"). */
  function tick(v) {
    const trim = (x) => String(Number(x.toPrecision(3)));
    if (v >= 1e6) return `${trim(v / 1e6)}M`;
    if (v >= 1e4) return `${trim(v / 1e3)}k`;
    return trim(v);
  }

  const CHARTS = [
    { title: 'POSTs/s', series: [['posts_per_s', 'POSTs/s']], fmt: (v) => v.toFixed(1), tick },
    { title: 'Settled/s', series: [['settled_per_s', 'settled/s']], fmt: (v) => v.toFixed(1), tick },
    { title: 'Failure ratio', series: [['failure_ratio', 'failure ratio']], fmt: (v) => `${(v * 100).toFixed(1)}%`, tick: (v) => `${tick(v * 100)}%` },
    { title: 'End-to-end latency (ms)', series: [['e2e_p50_ms', 'p50'], ['e2e_p99_ms', 'p99']], fmt: (v) => `${v.toFixed(0)} ms`, tick },
    { title: 'Lag', series: [['lag', 'lag']], fmt: (v) => v.toFixed(0), tick },
  ];

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }

  /** A small line chart of `points` drawn as inline SVG (no library). */
  function lineChart(spec, points) {
    const W = 300; const H = 110; const L = 34; const R = 6; const T = 8; const B = 18;
    const pts = (Array.isArray(points) ? points : []).filter((p) => p && Number.isFinite(Number(p.t)))
      .slice().sort((a, b) => Number(a.t) - Number(b.t));
    const num = (p, k) => (p[k] === null || p[k] === undefined || p[k] === '' ? NaN : Number(p[k]));
    let maxV = 0;
    for (const p of pts) for (const [k] of spec.series) { const v = num(p, k); if (Number.isFinite(v) && v > maxV) maxV = v; }
    const yMax = niceMax(maxV);
    const t0 = pts.length ? Number(pts[0].t) : 0;
    const t1 = pts.length ? Number(pts[pts.length - 1].t) : 1;
    const span = Math.max(1, t1 - t0);
    const x = (t) => L + ((Number(t) - t0) / span) * (W - L - R);
    const y = (v) => T + (1 - Math.min(v, yMax) / yMax) * (H - T - B);

    const latest = spec.series.map(([k, name]) => {
      for (let i = pts.length - 1; i >= 0; i--) { const v = num(pts[i], k); if (Number.isFinite(v)) return `${name} ${spec.fmt(v)}`; }
      return `${name} no data`;
    });
    const label = pts.length
      ? `${spec.title}, last ${Math.max(1, Math.round(span / 60000))} min, ${pts.length} samples; latest: ${latest.join(', ')}; scale 0 to ${spec.fmt(yMax)}`
      : `${spec.title}: no samples yet`;
    const el = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, 'data-points': pts.length },
      svg('line', { class: 'grid', x1: L, x2: W - R, y1: y(yMax / 2), y2: y(yMax / 2) }),
      svg('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }),
      svg('line', { class: 'axis', x1: L, x2: L, y1: T, y2: H - B }),
      svg('text', { x: L - 3, y: T + 7, 'text-anchor': 'end' }, spec.tick(yMax)),
      svg('text', { x: L - 3, y: H - B, 'text-anchor': 'end' }, '0'));
    if (pts.length) {
      const mins = Math.round(span / 60000);
      el.append(svg('text', { x: L, y: H - 4, 'text-anchor': 'start' }, mins >= 1 ? `−${mins} min` : `−${Math.round(span / 1000)} s`));
      el.append(svg('text', { x: W - R, y: H - 4, 'text-anchor': 'end' }, 'now'));
    } else {
      el.append(svg('text', { x: (L + W) / 2, y: H / 2, 'text-anchor': 'middle' }, 'no samples yet'));
    }
    spec.series.forEach(([k], i) => {
      let d = '';
      let pen = false;
      let drawn = 0;
      let lastPoint = null;
      for (const p of pts) {
        const v = num(p, k);
        if (!Number.isFinite(v)) { pen = false; continue; }
        d += `${pen ? 'L' : 'M'}${x(p.t).toFixed(1)} ${y(v).toFixed(1)} `;
        pen = true;
        drawn++;
        lastPoint = [x(p.t), y(v)];
      }
      if (drawn > 1) el.append(svg('path', { class: `line s${i}`, d: d.trim(), 'data-series': k }));
      if (lastPoint) el.append(svg('circle', { class: `s${i}`, cx: lastPoint[0].toFixed(1), cy: lastPoint[1].toFixed(1), r: 2.5 }));
    });
    const legend = spec.series.length > 1
      ? h('div', { class: 'legend', 'aria-hidden': 'true' }, spec.series.map(([, name], i) => h('span', null, h('span', { class: `key s${i}` }), name)))
      : null;
    return h('figure', { class: 'chart' },
      h('figcaption', null, h('span', null, spec.title), h('span', { class: 'latest' }, pts.length ? latest.join(' · ') : '')),
      el, legend);
  }

  function renderHealth(seq) {
    const err = errorRegion();
    const source = h('span', { id: 'health-source' }, '…');
    const updated = h('span', { class: 'muted' });
    const svcBody = h('tbody');
    const services = h('div', { class: 'table-wrap', id: 'health-services' },
      h('table', { 'aria-label': 'Services' },
        h('thead', null, h('tr', null, ['Service', 'State', 'Detail', 'URL'].map((t) => h('th', { scope: 'col' }, t)))),
        svcBody));
    const recon = h('dl', { class: 'summary pairs', id: 'health-reconciliation' });
    const charts = h('div', { class: 'charts', id: 'health-charts' });

    async function poll() {
      state.healthTimer = null;
      try {
        const data = await api('GET', '/api/health');
        if (!current(seq)) return;
        showError(err, null);
        source.textContent = show(data.source);
        updated.textContent = `updated ${formatTime(Date.now())}`;
        const list = Array.isArray(data.services) ? data.services : [];
        svcBody.replaceChildren(...list.map((s) => h('tr', null,
          td(show(s.name)), td(statusBadge(s.up ? 'up' : 'down')), td(show(s.detail), 'wrap'), td(show(s.url), 'mono wrap'))));
        const rc = data.reconciliation || {};
        recon.replaceChildren(
          h('dt', null, 'Status'), h('dd', null, statusBadge(rc.status)),
          h('dt', null, 'Checked at'), h('dd', null, timeEl(rc.checked_at)),
          h('dt', null, 'Detail'), h('dd', null, show(typeof rc.detail === 'object' && rc.detail !== null ? compactJson(rc.detail) : rc.detail)));
        charts.replaceChildren(...CHARTS.map((c) => lineChart(c, data.points)));
      } catch (e) {
        if (!current(seq) || e instanceof SessionEnded) return;
        showError(err, e);
      }
      if (current(seq) && state.healthTimer === null) {
        state.healthTimer = setTimeout(poll, HEALTH_POLL_MS);
      }
    }
    poll();
    return h('div', null,
      viewHeading('Health', h('span', null, 'Data source: ', h('strong', null, source), ' ', updated)),
      h('p', { class: 'muted' }, 'Refreshed every 2 seconds while this page is open.'),
      err,
      h('div', { class: 'two-col' },
        section('Services', services),
        section('Reconciliation', recon)),
      section('Last 10 minutes', charts));
  }

  // ---------------------------------------------------------------- audit
  function renderAudit(seq) {
    const st = state.audit;
    const err = errorRegion();
    const tbody = h('tbody');
    const caption = h('caption', null, 'Audit log, newest first');
    const tableBox = h('div', { class: 'table-wrap', 'aria-busy': 'false', id: 'audit-table' },
      h('table', null, caption,
        h('thead', null, h('tr', null, ['Time', 'Operator', 'Action', 'Target', 'Outcome', 'Before', 'After']
          .map((t) => h('th', { scope: 'col' }, t)))),
        tbody));
    const pg = pager((dir) => { st.offset = Math.max(0, st.offset + dir * LIMIT); load(); });
    const refresh = h('button', { type: 'button', class: 'secondary' }, 'Refresh');
    refresh.addEventListener('click', () => load());
    let loadSeq = 0;
    async function load() {
      const mine = ++loadSeq;
      tableBox.setAttribute('aria-busy', 'true');
      showError(err, null);
      try {
        const data = await api('GET', '/api/audit', { query: { limit: LIMIT, offset: st.offset } });
        if (!current(seq) || mine !== loadSeq) return;
        const rows = Array.isArray(data.entries) ? data.entries : [];
        tbody.replaceChildren(...rows.map((a) => h('tr', null,
          td(timeEl(a.at), 'nowrap'), td(show(a.operator), 'nowrap'), td(show(a.action), 'nowrap'),
          td(typeof a.target === 'object' && a.target !== null ? compactJson(a.target) : show(a.target), 'wrap mono'),
          td(/^[A-Za-z_]{1,20}$/.test(String(a.outcome)) ? statusBadge(a.outcome) : show(a.outcome), 'wrap'),
          td(h('code', null, a.before === null || a.before === undefined ? '—' : compactJson(a.before)), 'json wrap'),
          td(h('code', null, a.after === null || a.after === undefined ? '—' : compactJson(a.after)), 'json wrap'))));
        caption.textContent = `Audit log, newest first: ${rows.length} on this page`;
        pg.update(st.offset, rows.length, Boolean(data.has_more));
      } catch (e) {
        if (!current(seq) || mine !== loadSeq) return;
        showError(err, e);
      } finally {
        if (mine === loadSeq) tableBox.setAttribute('aria-busy', 'false');
      }
    }
    load();
    return h('div', null, viewHeading('Audit log', refresh), err, tableBox, pg.el);
  }

  function renderNotFound(seq, r) {
    return h('div', null, viewHeading('Page not found'),
      h('p', null, `Nothing lives at #/${r.path}. `, h('a', { href: '#/reviews' }, 'Go to reviews'), '.'));
  }

  // ---------------------------------------------------------------- start
  async function logout() {
    const btn = $('logout-button');
    btn.disabled = true;
    try {
      await api('POST', '/api/logout', { session: false });
    } catch (_) {
      // Whatever the server says, this page forgets the session.
    } finally {
      btn.disabled = false;
    }
    try { sessionStorage.removeItem(SESSION_FLAG); } catch (_) { /* ignore */ }
    clearSession();
    renderLogin('You have logged out.', true);
  }

  async function start() {
    $('logout-button').addEventListener('click', logout);
    window.addEventListener('hashchange', route);
    // A nav link to the view already shown does not change the hash: show that view afresh.
    for (const a of document.querySelectorAll('#topbar nav a')) {
      a.addEventListener('click', (ev) => {
        if (a.getAttribute('href') === location.hash) {
          ev.preventDefault();
          route();
        }
      });
    }
    let hadSession = false;
    try { hadSession = sessionStorage.getItem(SESSION_FLAG) === '1'; } catch (_) { /* ignore */ }
    try {
      const s = await api('GET', '/api/session', { session: false });
      setSession(s);
      route();
    } catch (e) {
      if (e.status === 401) {
        renderLogin(hadSession ? SESSION_ENDED_TEXT : '', false);
      } else {
        renderLogin(`The console server could not be reached: ${e.message}`, false);
      }
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
