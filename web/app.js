// opsgate web chat: the browser side. Plain ES module, no build step, no external
// resources. Server and user text is only ever put into the page with textContent
// (never innerHTML), so nothing the server or another user sends can become markup.

const $ = (id) => document.getElementById(id);

const state = {
  csrf: null,          // CSRF token of the current session (the session cookie is HttpOnly)
  username: null,
  socket: null,
  wantSocket: false,   // false after sign-out: closes are then expected
  retry: 0,            // reconnect attempts since the last successful open
  retryTimer: null,
  enrolUser: null,     // username being enrolled (between the two enrolment steps)
};

const VIEWS = ['view-loading', 'view-signin', 'view-enrol', 'view-totp', 'view-chat'];

function show(view) {
  for (const v of VIEWS) $(v).hidden = v !== view;
  const signedIn = view === 'view-chat';
  $('user-box').hidden = !signedIn;
  document.body.classList.toggle('in-chat', signedIn);
}

// ---- HTTP helpers -----------------------------------------------------------------

const MESSAGES = {
  bad_credentials: 'Wrong username or password.',
  totp_required: 'Enter the 6-digit code from your authenticator app.',
  totp_invalid: 'That code is not valid. Check the clock of your device and try the current code.',
  totp_reused: 'That code was already used. Wait for the next code and try again.',
  enrolment_incomplete: 'This account has not finished enrolment. Use your enrolment link again or ask an administrator for a new one.',
  account_disabled: 'This account is disabled. Ask an administrator.',
  throttled: 'Too many attempts. Wait a moment and try again.',
  password_policy: 'That password is too short. Use at least 12 characters; a passphrase of several words is best.',
  invalid_username: 'That username is not allowed. Use lower-case letters, digits, dots, dashes or underscores.',
  enrolment_token_invalid: 'This enrolment link is not valid any more. Ask an administrator for a new one.',
  username_taken: 'That username is taken. Choose another one.',
  csrf: 'Your session changed. Reload the page.',
  network: 'Cannot reach opsgate. Check your connection and try again.',
};

class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

// Sign-in refusals come with one generic message from the server (so that it says
// nothing about which part was wrong beyond the reason code); the page words them.
const LOCAL_WORDING = new Set(['bad_credentials', 'totp_required', 'totp_invalid', 'totp_reused',
                               'enrolment_incomplete', 'account_disabled', 'throttled']);

function waitText(seconds) {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

// The text shown for a refused request: the server's message (it says what to do),
// without a leading "<code>: ", else the table above.
function errorText(status, code, serverMessage, retryAfter) {
  if (code === 'throttled' && Number.isFinite(retryAfter) && retryAfter > 0) {
    return `Too many attempts. Try again in ${waitText(retryAfter)}.`;
  }
  if (LOCAL_WORDING.has(code) && MESSAGES[code]) return MESSAGES[code];
  let text = typeof serverMessage === 'string' ? serverMessage.trim() : '';
  if (text.startsWith(`${code}:`)) text = text.slice(code.length + 1).trim();
  if (text) {
    text = text.charAt(0).toUpperCase() + text.slice(1);
    return /[.!?]$/.test(text) ? text : `${text}.`;
  }
  return MESSAGES[code] || `Request failed (HTTP ${status}).`;
}

async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      redirect: 'error',
    });
  } catch {
    throw new ApiError(0, 'network', MESSAGES.network);
  }
  let data = {};
  try {
    data = await res.json();
  } catch {
    data = {};
  }
  if (!res.ok) {
    const code = typeof data.error === 'string' ? data.error : `http_${res.status}`;
    const retryAfter = Number.parseInt(res.headers.get('Retry-After') || '', 10);
    throw new ApiError(res.status, code, errorText(res.status, code, data.message, retryAfter), retryAfter);
  }
  return data;
}

function setError(id, text) {
  const el = $(id);
  el.textContent = text || '';
  el.hidden = !text;
}

function setBusy(form, busy) {
  for (const el of form.querySelectorAll('button, input')) el.disabled = busy;
  form.setAttribute('aria-busy', busy ? 'true' : 'false');
}

const CODE_RE = /^[0-9]{6}$/;

function cleanCode(v) {
  return v.replace(/\s+/g, '');
}

// ---- Sign in ------------------------------------------------------------------------

function showSignIn(notice, username) {
  closeSocket();
  state.csrf = null;
  state.username = null;
  $('messages').replaceChildren();
  setError('signin-error', '');
  const n = $('signin-notice');
  n.textContent = notice || '';
  n.hidden = !notice;
  const form = $('signin-form');
  form.reset();
  setBusy(form, false);
  if (username) $('signin-username').value = username;
  show('view-signin');
  (username ? $('signin-password') : $('signin-username')).focus();
}

async function onSignIn(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const username = $('signin-username').value.trim();
  const password = $('signin-password').value;
  const totp = cleanCode($('signin-code').value);
  if (!username || !password) {
    setError('signin-error', 'Enter your username and password.');
    (username ? $('signin-password') : $('signin-username')).focus();
    return;
  }
  if (!CODE_RE.test(totp)) {
    setError('signin-error', MESSAGES.totp_required);
    $('signin-code').focus();
    return;
  }
  setError('signin-error', '');
  setBusy(form, true);
  try {
    state.csrf = null;
    const data = await api('POST', '/api/login', { username, password, totp });
    state.csrf = data.csrf_token || null;
    // Ask the server who we are (also picks up the CSRF token if login did not send it).
    await enterChat(data.username || username);
  } catch (e) {
    setBusy(form, false);
    setError('signin-error', e.message);
    $('signin-code').value = '';
    if (e.code === 'bad_credentials') {
      $('signin-password').value = '';
      $('signin-password').focus();
    } else {
      $('signin-code').focus();
    }
  }
}

async function onSignOut() {
  const btn = $('signout-button');
  btn.disabled = true;
  state.wantSocket = false;
  try {
    await api('POST', '/api/logout', {});
  } catch {
    // Signed out locally anyway; the session expires on the server.
  } finally {
    btn.disabled = false;
  }
  history.replaceState(null, '', '/');
  showSignIn('You are signed out.');
}

// ---- Enrolment ------------------------------------------------------------------------

function enrolToken() {
  const p = new URLSearchParams(location.search);
  return p.get('t') || '';
}

function showEnrol() {
  setError('enrol-error', '');
  show('view-enrol');
  $('enrol-username').focus();
}

async function onEnrol(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const username = $('enrol-username').value.trim();
  const password = $('enrol-password').value;
  const password2 = $('enrol-password2').value;
  if (!username) {
    setError('enrol-error', 'Choose a username.');
    $('enrol-username').focus();
    return;
  }
  if (new TextEncoder().encode(password).length < 12) {  // the server's policy counts bytes
    setError('enrol-error', MESSAGES.password_policy);
    $('enrol-password').focus();
    return;
  }
  if (password !== password2) {
    setError('enrol-error', 'The two passwords are not the same.');
    $('enrol-password2').value = '';
    $('enrol-password2').focus();
    return;
  }
  setError('enrol-error', '');
  setBusy(form, true);
  try {
    const data = await api('POST', '/api/enrol', { token: enrolToken(), username, password });
    state.enrolUser = data.username || username;
    // The token is spent: keep it out of the address bar and the history.
    history.replaceState(null, '', '/enrol');
    showTotp(data);
  } catch (e) {
    setBusy(form, false);
    setError('enrol-error', e.message);
    if (e.code === 'username_taken' || e.code === 'invalid_username') $('enrol-username').focus();
    else if (e.code === 'password_policy') $('enrol-password').focus();
  }
}

function base64Utf8(text) {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

function groupSecret(secret) {
  return String(secret).replace(/\s+/g, '').replace(/(.{4})(?=.)/g, '$1 ');
}

function showTotp(data) {
  const img = $('totp-qr');
  if (typeof data.qr_svg === 'string' && data.qr_svg) {
    // Shown as an image, never inlined into the DOM: an SVG in <img> runs no script.
    img.src = `data:image/svg+xml;base64,${base64Utf8(data.qr_svg)}`;
    img.hidden = false;
  } else {
    img.removeAttribute('src');
    img.hidden = true;
  }
  $('totp-secret').textContent = groupSecret(data.totp_secret || '');
  const uri = $('totp-uri');
  if (typeof data.totp_uri === 'string' && data.totp_uri.startsWith('otpauth://totp/')) {
    uri.href = data.totp_uri;
    uri.hidden = false;
  } else {
    uri.removeAttribute('href');
    uri.hidden = true;
  }
  setError('confirm-error', '');
  $('confirm-form').reset();
  show('view-totp');
  $('confirm-code').focus();
}

async function onConfirm(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const code = cleanCode($('confirm-code').value);
  if (!CODE_RE.test(code)) {
    setError('confirm-error', 'Enter the 6-digit code from your authenticator app.');
    $('confirm-code').focus();
    return;
  }
  setError('confirm-error', '');
  setBusy(form, true);
  try {
    await api('POST', '/api/enrol/confirm', { username: state.enrolUser, code });
    const user = state.enrolUser;
    state.enrolUser = null;
    $('totp-qr').removeAttribute('src');
    $('totp-secret').textContent = '';
    history.replaceState(null, '', '/');
    showSignIn('Your account is ready. Sign in with your password and a new code.', user);
  } catch (e) {
    setBusy(form, false);
    setError('confirm-error', e.message);
    $('confirm-code').value = '';
    $('confirm-code').focus();
  }
}

// ---- Chat -------------------------------------------------------------------------------

async function enterChat(username, session) {
  const s = session || await api('GET', '/api/session');
  if (!s.signed_in) {
    showSignIn('Your session has ended. Sign in again.', username);
    return;
  }
  state.username = s.username || username;
  if (s.csrf_token) state.csrf = s.csrf_token;
  $('user-name').textContent = state.username;
  $('messages').replaceChildren();
  setStatus('Connecting…');
  setComposerEnabled(false);
  show('view-chat');
  state.wantSocket = true;
  state.retry = 0;
  connect();
}

function setStatus(text) {
  const el = $('chat-status');
  el.textContent = text || '';
  el.hidden = !text;
}

function setComposerEnabled(on) {
  $('chat-send').disabled = !on;
  $('chat-input').setAttribute('aria-disabled', on ? 'false' : 'true');
}

function chatUrl() {
  const proto = location.protocol === 'http:' ? 'ws:' : 'wss:';
  return `${proto}//${location.host}/api/chat`;
}

function connect() {
  clearTimeout(state.retryTimer);
  state.retryTimer = null;
  if (!state.wantSocket) return;
  let ws;
  try {
    ws = new WebSocket(chatUrl());
  } catch {
    scheduleReconnect();
    return;
  }
  state.socket = ws;
  ws.addEventListener('open', () => {
    if (state.socket !== ws) return;
    state.retry = 0;
    setStatus('');
    setComposerEnabled(true);
    if (!$('view-chat').hidden) $('chat-input').focus();
  });
  ws.addEventListener('message', (ev) => {
    if (state.socket !== ws) return;
    onServerMessage(ev.data);
  });
  ws.addEventListener('close', (ev) => {
    if (state.socket !== ws) return;
    state.socket = null;
    setComposerEnabled(false);
    if (!state.wantSocket) return;
    if (ev.code === 4401 || ev.code === 4403) {
      state.wantSocket = false;
      showSignIn('Your session has ended. Sign in again.', state.username);
      return;
    }
    afterUnexpectedClose();
  });
}

async function afterUnexpectedClose() {
  // A close without a reason we know: the session may have expired (the server then
  // refuses the upgrade). Ask before trying again.
  try {
    const s = await api('GET', '/api/session');
    if (!state.wantSocket) return;
    if (!s.signed_in) {
      state.wantSocket = false;
      showSignIn('Your session has ended. Sign in again.', state.username);
      return;
    }
    if (s.csrf_token) state.csrf = s.csrf_token;
  } catch {
    // Server unreachable: keep retrying with backoff.
  }
  scheduleReconnect();
}

function scheduleReconnect() {
  if (!state.wantSocket) return;
  const delay = Math.min(30000, 1000 * 2 ** Math.min(state.retry, 5)) * (0.75 + Math.random() * 0.5);
  state.retry += 1;
  setStatus(`Disconnected. Reconnecting in ${Math.round(delay / 1000)} s…`);
  state.retryTimer = setTimeout(connect, delay);
}

function closeSocket() {
  state.wantSocket = false;
  clearTimeout(state.retryTimer);
  state.retryTimer = null;
  const ws = state.socket;
  state.socket = null;
  if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'bye');
  setStatus('');
}

function send(obj) {
  const ws = state.socket;
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  ws.send(JSON.stringify(obj));
  return true;
}

function onSend(ev) {
  ev.preventDefault();
  const input = $('chat-input');
  const text = input.value.trim();
  if (!text) return;
  if (!send({ type: 'say', text })) {
    addNotice('Not connected yet. Your message was not sent.', 'error');
    return;
  }
  addUserMessage(text);
  input.value = '';
  input.focus();
}

function onServerMessage(raw) {
  let msg;
  try {
    msg = JSON.parse(raw);
  } catch {
    return;
  }
  if (!msg || typeof msg !== 'object') return;
  switch (msg.type) {
    case 'hello':
      if (typeof msg.username === 'string' && msg.username) {
        state.username = msg.username;
        $('user-name').textContent = msg.username;
      }
      if (!$('messages').hasChildNodes()) addNotice('Connected. Type help to see what opsgate can do.');
      break;
    case 'reply':
      addBotReply(msg.reply || {});
      break;
    case 'error':
      addNotice(errorText(0, String(msg.error || 'error'), msg.message, NaN), 'error');
      break;
    default:
      break;
  }
}

// ---- Message rendering (DOM nodes + textContent only) -----------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function appendMessage(li) {
  const list = $('messages');
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  list.append(li);
  if (nearBottom || li.classList.contains('msg-user')) li.scrollIntoView({ block: 'end' });
}

function addUserMessage(text) {
  const li = el('li', 'msg msg-user');
  li.append(el('span', 'visually-hidden', 'You: '), el('p', 'msg-text', text));
  appendMessage(li);
}

function addNotice(text, kind) {
  const li = el('li', `msg msg-notice ${kind === 'error' ? 'msg-error' : ''}`);
  li.append(el('p', 'msg-text', text));
  appendMessage(li);
}

const BUTTON_LABELS = { approve: 'Approve', deny: 'Deny', confirm: 'Confirm', cancel: 'Cancel' };

function safeHttpsUrl(s) {
  if (typeof s !== 'string') return null;
  try {
    const u = new URL(s);
    return u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

function renderBlock(b) {
  switch (b.kind) {
    case 'heading':
      return el('p', 'blk-heading', b.text);
    case 'text':
      return el('p', 'blk-text', b.text);
    case 'code':
      return el('pre', 'blk-code', b.text);
    case 'note':
      return el('p', 'blk-note', b.text);
    case 'fields': {
      const dl = el('dl', 'blk-fields');
      for (const f of Array.isArray(b.fields) ? b.fields : []) {
        if (!Array.isArray(f)) continue;
        const row = el('div', 'blk-field');
        row.append(el('dt', null, f[0] ?? ''), el('dd', null, f[1] ?? ''));
        dl.append(row);
      }
      return dl;
    }
    case 'link': {
      const href = safeHttpsUrl(b.url);
      const p = el('p', 'blk-link');
      if (href) {
        const a = el('a', null, b.text || href);
        a.href = href;
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
        p.append(a);
      } else {
        // Not https: shown as text, never as a link.
        p.textContent = b.text ? `${b.text} (${b.url ?? ''})` : String(b.url ?? '');
      }
      return p;
    }
    case 'buttons': {
      const group = el('div', 'blk-buttons');
      group.setAttribute('role', 'group');
      if (b.text) group.setAttribute('aria-label', String(b.text));
      for (const btn of Array.isArray(b.buttons) ? b.buttons : []) {
        const action = String(btn.kind || '');
        if (!(action in BUTTON_LABELS)) continue;
        const button = el('button', `btn-${action} ${action === 'approve' || action === 'confirm' ? 'primary' : 'secondary'}`,
          btn.text || BUTTON_LABELS[action]);
        button.type = 'button';
        button.addEventListener('click', () => {
          if (send({ type: 'click', action, value: String(btn.value ?? '') })) {
            for (const other of group.querySelectorAll('button')) other.disabled = true;
            button.classList.add('chosen');
          } else {
            addNotice('Not connected. Try again when the chat has reconnected.', 'error');
          }
        });
        group.append(button);
      }
      return group;
    }
    default:
      return b.text ? el('p', 'blk-text', b.text) : null;
  }
}

function addBotReply(reply) {
  const li = el('li', 'msg msg-bot');
  li.append(el('span', 'visually-hidden', 'opsgate: '));
  const blocks = Array.isArray(reply.blocks) ? reply.blocks : [];
  let rendered = 0;
  for (const b of blocks) {
    if (!b || typeof b !== 'object') continue;
    const node = renderBlock(b);
    if (node) {
      li.append(node);
      rendered += 1;
    }
  }
  if (rendered === 0) li.append(el('p', 'blk-text', reply.text ?? ''));
  appendMessage(li);
}

// ---- Start ------------------------------------------------------------------------------

async function start() {
  $('signin-form').addEventListener('submit', onSignIn);
  $('enrol-form').addEventListener('submit', onEnrol);
  $('confirm-form').addEventListener('submit', onConfirm);
  $('chat-form').addEventListener('submit', onSend);
  $('signout-button').addEventListener('click', onSignOut);

  if (location.pathname === '/enrol' && enrolToken()) {
    showEnrol();
    return;
  }
  if (location.pathname === '/enrol') {
    showSignIn(MESSAGES.enrolment_token_invalid);
    return;
  }
  try {
    const s = await api('GET', '/api/session');
    if (s.signed_in) {
      state.csrf = s.csrf_token || null;
      await enterChat(s.username, s);
    } else {
      // Sign-in through the OpenID Provider, when opsgate has one (identity.oidc).
      $('signin-oidc').hidden = !s.oidc;
      showSignIn();
    }
  } catch (e) {
    showSignIn();
    setError('signin-error', e.message);
  }
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start);
} else {
  start();
}
