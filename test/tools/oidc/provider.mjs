// File: test/tools/oidc/provider.mjs
//
// Test-only OpenID Provider for opsgate's OIDC integration test
// (test/integration/oidc_test.cc): the npm package oidc-provider on 127.0.0.1, plain
// HTTP, an ephemeral port, one confidential client, PKCE (S256) required.
//
//   node provider.mjs --client-id opsgate --client-secret s3cret \
//        --redirect-uri http://127.0.0.1:9/auth/callback [--user alice --password pw]
//
// Prints ONE JSON line on stdout once it listens:
//   {"issuer":"http://127.0.0.1:PORT","port":PORT}
// and logs to stderr. Exits when stdin reaches EOF (the test died) or on SIGTERM.
//
// Login and consent are a minimal custom interaction that plain HTTP form POSTs can
// complete (no JavaScript):
//   GET  /interaction/:uid          -> 200 HTML, <form data-prompt="login|consent" action=...>
//   POST /interaction/:uid/login    -> login=<user>&password=<password>[&otp=123456]
//   POST /interaction/:uid/confirm  -> grants the requested scopes and claims
//   POST /interaction/:uid/abort    -> the RP receives error=access_denied
// A wrong password re-renders the login form with status 401. The login records
// amr ["pwd"] (["pwd","otp"] when otp is given) and, when the request had acr_values,
// the first requested value as acr.
import crypto from 'node:crypto';
import http from 'node:http';
import process from 'node:process';

import Provider from 'oidc-provider';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i !== -1 && i + 1 < process.argv.length) return process.argv[i + 1];
  const env = process.env[`OIDC_TEST_${name.toUpperCase().replace(/-/g, '_')}`];
  return env ?? fallback;
}

const clientId = arg('client-id', 'opsgate');
const clientSecret = arg('client-secret', 'opsgate-test-secret');
const redirectUri = arg('redirect-uri', 'http://127.0.0.1:9/auth/callback');
const authMethod = arg('auth-method', 'client_secret_basic');
const user = arg('user', 'alice');
const password = arg('password', 'correct horse');

// The test user. The subject is stable; the groups claim is "groups".
const account = {
  sub: 'user-alice-0001',
  email: 'alice@example.com',
  email_verified: true,
  name: 'Alice Example',
  groups: ['ops', 'sre'],
};

// A fresh signing key per run: nothing to keep secret, nothing committed. P-256, because
// RSA key generation occasionally stalled for many seconds in CI-like sandboxes.
const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-es256', use: 'sig', alg: 'ES256' };

const configuration = {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: authMethod,
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [signingJwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  // PKCE for every client and request (S256 is the only method oidc-provider 9 knows).
  pkce: { required: () => true },
  claims: {
    openid: ['sub', 'amr'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  acrValues: ['urn:opsgate:loa:1', 'urn:opsgate:loa:2'],
  // Put the scope's claims in the ID token itself, not only in userinfo.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: false },
  },
  interactions: {
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  ttl: {
    AuthorizationCode: 60,
    IdToken: 300,
    AccessToken: 300,
    Interaction: 600,
    Session: 600,
    Grant: 600,
  },
  async findAccount(ctx, id) {
    if (id !== account.sub) return undefined;
    return {
      accountId: id,
      async claims() {
        return { ...account };
      },
    };
  },
  renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
};

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(res, status, prompt, uid, message) {
  const action = prompt === 'login' ? 'login' : 'confirm';
  const fields = prompt === 'login'
    ? '<input name="login"><input name="password" type="password"><input name="otp">'
    : '';
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!doctype html><title>${prompt}</title><p>${escapeHtml(message)}</p>`
    + `<form method="post" data-prompt="${prompt}" action="/interaction/${uid}/${action}">`
    + `${fields}<button>continue</button></form>`
    + `<form method="post" action="/interaction/${uid}/abort"><button>cancel</button></form>`);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 16 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function interaction(provider, req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const parts = url.pathname.split('/').filter(Boolean);  // interaction, uid, [action]
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params } = details;
  if (parts[1] !== uid) {
    res.writeHead(400).end('interaction mismatch');
    return;
  }
  const action = parts[2];
  if (req.method === 'GET' && !action) {
    page(res, 200, prompt.name, uid, `client ${params.client_id} asks for ${params.scope}`);
    return;
  }
  if (req.method !== 'POST') {
    res.writeHead(405).end();
    return;
  }
  if (action === 'abort') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    return;
  }
  const form = await readForm(req);
  if (action === 'login' && prompt.name === 'login') {
    if (form.get('login') !== user || form.get('password') !== password) {
      page(res, 401, 'login', uid, 'wrong user name or password');
      return;
    }
    const amr = form.get('otp') ? ['pwd', 'otp'] : ['pwd'];
    const requested = (params.acr_values || '').split(' ').filter(Boolean);
    const login = { accountId: account.sub, amr, remember: false };
    if (requested.length > 0) login.acr = requested[0];
    await provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
    return;
  }
  if (action === 'confirm' && prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    const d = prompt.details;
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    if (d.missingResourceScopes) {
      for (const [indicator, scope] of Object.entries(d.missingResourceScopes)) {
        grant.addResourceScope(indicator, scope.join(' '));
      }
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } },
      { mergeWithLastSubmission: true });
    return;
  }
  res.writeHead(400).end(`unexpected ${action} during ${prompt.name}`);
}

let handler = (req, res) => res.writeHead(503).end();
const server = http.createServer((req, res) => handler(req, res));
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, configuration);
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  provider.on('grant.error', (ctx, err) => console.error('grant.error', err.message,
    err.error_description ?? ''));
  const callback = provider.callback();
  handler = (req, res) => {
    if (req.url.startsWith('/interaction/')) {
      interaction(provider, req, res).catch((err) => {
        console.error('interaction error', err);
        if (!res.headersSent) res.writeHead(500).end(String(err.message));
      });
      return;
    }
    callback(req, res);
  };
  process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
});

function shutdown() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
// The test holds our stdin open; EOF means it is gone, so do not linger.
process.stdin.on('end', shutdown);
process.stdin.on('error', shutdown);
process.stdin.resume();
