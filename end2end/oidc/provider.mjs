// A real OpenID Connect provider for gatehouse's tests.
//
// It runs oidc-provider (panva's OpenID Certified implementation) on
// 127.0.0.1 so that gatehouse's sign-in is exercised against a genuine
// authorization server: discovery, JWKS, authorization code + PKCE, signed ID
// tokens, one-time codes. Nothing is fetched from the network at run time.
//
// Start:
//   OIDC_PORT=0 \
//   OIDC_CLIENTS='[{"client_id":"gh","client_secret":"s3cret","redirect_uris":["http://127.0.0.1:3000/auth/callback"]}]' \
//   node end2end/oidc/provider.mjs
//
// Environment:
//   OIDC_PORT     port to listen on, on 127.0.0.1 (default 0: any free port)
//   OIDC_CLIENTS  JSON array of clients: {client_id, client_secret, redirect_uris}
//                 plus, optionally, any other client metadata, for example
//                 "token_endpoint_auth_method": "client_secret_post"
//                 (the default is client_secret_basic).
//
// Once listening it prints exactly one line to stdout,
//   OIDC_READY http://127.0.0.1:<port>
// whose URL is the issuer, then runs until SIGTERM or SIGINT.
//
// Test routes (answered before anything else, never affected by /test/down):
//   PUT    /test/accounts/<id>  JSON object of claims; stores or replaces the
//                               account <id> (its `sub`). Known claims:
//                               email, email_verified, given_name,
//                               family_name, name, groups (array of strings).
//   DELETE /test/accounts/<id>  forgets one account.
//   POST   /test/reset          forgets every account and brings the provider
//                               back up if it was down.
//   POST   /test/down           every other request is answered 503 ...
//   POST   /test/up             ... until this.
//
// Sign-in needs no form: the authorization request's login_hint (the address
// the person typed into gatehouse) names the account, by email or by id. The
// interaction endpoint logs that account in and grants every requested scope
// and claim at once, so a browser or an HTTP client that follows redirects
// goes straight from the authorization endpoint back to gatehouse's
// redirect_uri with ?code=...&state=...&iss=... . A login_hint that names no
// account gets a 400 page saying so.

import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

import Provider, { interactionPolicy } from 'oidc-provider';

const HOST = '127.0.0.1';

// stdout carries exactly one line, OIDC_READY, which the tests wait for.
// oidc-provider prints its notices with console.info; send those, and any
// other console output, to stderr.
console.log = console.error;
console.info = console.error;

// ---------------------------------------------------------------------------
// Configuration from the environment

function parseClients(raw) {
  let list;
  try {
    list = JSON.parse(raw ?? '[]');
  } catch (err) {
    throw new Error(`OIDC_CLIENTS is not valid JSON: ${err.message}`);
  }
  if (!Array.isArray(list)) throw new Error('OIDC_CLIENTS must be a JSON array');
  return list.map((client, i) => {
    if (!client || typeof client.client_id !== 'string' || !Array.isArray(client.redirect_uris)) {
      throw new Error(`OIDC_CLIENTS[${i}] needs client_id and redirect_uris`);
    }
    return {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...client,
    };
  });
}

const port = Number.parseInt(process.env.OIDC_PORT ?? '0', 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  throw new Error(`OIDC_PORT must be a port number, got ${process.env.OIDC_PORT}`);
}
const clients = parseClients(process.env.OIDC_CLIENTS);

// ---------------------------------------------------------------------------
// Accounts, set by the tests over HTTP

/** account id (the ID token's `sub`) -> claims object */
const accounts = new Map();

/** The account a login_hint names: by id first, then by email (any case). */
function accountIdForHint(hint) {
  if (typeof hint !== 'string' || hint === '') return undefined;
  if (accounts.has(hint)) return hint;
  const wanted = hint.toLowerCase();
  for (const [id, claims] of accounts) {
    if (typeof claims.email === 'string' && claims.email.toLowerCase() === wanted) return id;
  }
  return undefined;
}

// oidc-provider asks for an account whenever it issues claims. The claims are
// handed over as stored; the provider itself keeps only those that the granted
// scopes release (email, profile, groups), and `sub` is always the account id.
async function findAccount(ctx, id) {
  const claims = accounts.get(id);
  if (!claims) return undefined;
  return {
    accountId: id,
    async claims() {
      return { ...claims, sub: id };
    },
  };
}

// ---------------------------------------------------------------------------
// Interaction policy: the stock login and consent prompts, plus two reasons to
// ask for a login again even when the browser already has a session here:
// the session's account has since been removed, or the request's login_hint
// names someone else. Without them a browser that signed in as one person
// would silently stay that person for the next test.

const { Check, base } = interactionPolicy;
const policy = base();
const login = policy.get('login');

login.checks.add(new Check(
  'account_removed',
  'the signed-in account no longer exists',
  (ctx) => {
    const { accountId } = ctx.oidc.session;
    return accountId && !accounts.has(accountId) ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
  },
));

login.checks.add(new Check(
  'login_hint_mismatch',
  'login_hint names an account other than the signed-in one',
  (ctx) => {
    const { accountId } = ctx.oidc.session;
    const hint = ctx.oidc.params.login_hint;
    if (!accountId || hint === undefined) return Check.NO_NEED_TO_PROMPT;
    return accountIdForHint(hint) === accountId ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
  },
));

// ---------------------------------------------------------------------------
// Signing key: a fresh RSA key per run, used for RS256 ID tokens and
// published at the JWKS endpoint.

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    ...privateKey.export({ format: 'jwk' }),
    kid: randomUUID(),
    use: 'sig',
    alg: 'RS256',
  };
}

function configuration() {
  return {
    clients,
    findAccount,
    jwks: { keys: [signingKey()] },

    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['given_name', 'family_name', 'name'],
      groups: ['groups'],
    },
    // Claims released by scope go into the ID token too, not only to the
    // userinfo endpoint: gatehouse reads the person from the ID token.
    conformIdTokenClaims: false,

    // Authorization code with PKCE, S256 only, for every client.
    responseTypes: ['code'],
    pkce: {
      methods: ['S256'],
      required: () => true,
    },

    // Cookies travel over plain http on 127.0.0.1: not Secure (koa sets
    // Secure only on https), and SameSite=Lax rather than the default None,
    // which browsers drop without Secure. Top-level redirects carry Lax.
    cookies: {
      keys: [randomBytes(32).toString('base64url')],
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },

    // The usual lifetimes, spelled out (oidc-provider nags about defaults).
    ttl: {
      AuthorizationCode: 60,
      AccessToken: 60 * 60,
      IdToken: 60 * 60,
      Interaction: 60 * 60,
      Session: 14 * 24 * 60 * 60,
      Grant: 14 * 24 * 60 * 60,
    },

    interactions: {
      policy,
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },

    features: {
      // The stock development login form is replaced by the login_hint
      // handling below.
      devInteractions: { enabled: false },
    },

    // Errors at the authorization endpoint that cannot be sent back to the
    // client (unknown client, bad redirect_uri) are shown as a plain page.
    async renderError(ctx, out, error) {
      ctx.type = 'html';
      ctx.body = page('Sign-in error', `<pre>${escapeHtml(JSON.stringify(out, null, 2))}</pre>`);
    },
  };
}

// ---------------------------------------------------------------------------
// Small HTTP helpers

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>`
    + `<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function sendJson(res, status, value) {
  send(res, status, 'application/json', JSON.stringify(value));
}

async function readJson(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 1024 * 1024) throw new Error('body too large');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
}

// ---------------------------------------------------------------------------
// /test routes

let down = false;

async function testRoute(req, res, path) {
  const accountPath = /^\/test\/accounts\/([^/]+)$/.exec(path);
  if (accountPath) {
    const id = decodeURIComponent(accountPath[1]);
    if (req.method === 'PUT') {
      let claims;
      try {
        claims = await readJson(req);
      } catch (err) {
        return sendJson(res, 400, { error: `body is not JSON: ${err.message}` });
      }
      if (!claims || typeof claims !== 'object' || Array.isArray(claims)) {
        return sendJson(res, 400, { error: 'body must be a JSON object of claims' });
      }
      if ('groups' in claims
          && !(Array.isArray(claims.groups) && claims.groups.every((g) => typeof g === 'string'))) {
        return sendJson(res, 400, { error: 'groups must be an array of strings' });
      }
      const { sub, ...rest } = claims; // `sub` is always the account id
      accounts.set(id, rest);
      return sendJson(res, 200, { sub: id, ...rest });
    }
    if (req.method === 'DELETE') {
      accounts.delete(id);
      return sendJson(res, 200, { deleted: id });
    }
    return sendJson(res, 405, { error: 'use PUT or DELETE' });
  }

  if (req.method === 'POST' && path === '/test/reset') {
    accounts.clear();
    down = false;
    return sendJson(res, 200, { reset: true });
  }
  if (req.method === 'POST' && path === '/test/down') {
    down = true;
    return sendJson(res, 200, { down: true });
  }
  if (req.method === 'POST' && path === '/test/up') {
    down = false;
    return sendJson(res, 200, { down: false });
  }
  return sendJson(res, 404, { error: 'no such test route' });
}

// ---------------------------------------------------------------------------
// Interactions: log in the account that login_hint names, then consent to all
// that was asked, each step finishing at once with a 303 redirect onwards:
//   /auth -> /interaction/<uid> (login) -> /auth/<uid>
//         -> /interaction/<uid> (consent) -> /auth/<uid> -> redirect_uri
// A browser that is still signed in here as the same person skips both.

async function interaction(provider, req, res) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    // No or expired interaction cookie: nothing to resume.
    return send(res, 400, 'text/html; charset=utf-8',
      page('Sign-in expired', `<p>${escapeHtml(err.message)}</p>`));
  }

  const { prompt, params, session } = details;

  if (prompt.name === 'login') {
    const hint = params.login_hint;
    const accountId = accountIdForHint(hint);
    if (!accountId) {
      const why = hint === undefined || hint === ''
        ? 'The sign-in request carried no login_hint, so no account could be chosen.'
        : `No account is known for login_hint “${hint}”.`;
      return send(res, 400, 'text/html; charset=utf-8',
        page('Unknown account', `<p id="unknown-account">${escapeHtml(why)}</p>`));
    }
    if (session?.accountId && session.accountId !== accountId) {
      // Someone else is signed in here in this browser. oidc-provider would
      // stop at a self-submitting logout form; end that session outright
      // instead and detach it from the interaction, so the new login starts a
      // fresh session and the redirects just go on.
      const previous = await provider.Session.findByUid(session.uid);
      if (previous) await previous.destroy();
      delete details.session;
      await details.save(details.exp - Math.floor(Date.now() / 1000));
    }
    return provider.interactionFinished(req, res, { login: { accountId } },
      { mergeWithLastSubmission: false });
  }

  if (prompt.name === 'consent') {
    // Extend the grant this session already holds for the client, or start one.
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });

    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    if (missing.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const grantId = await grant.save();

    const consent = details.grantId ? {} : { grantId };
    return provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
  }

  return send(res, 400, 'text/html; charset=utf-8',
    page('Unsupported prompt', `<p>${escapeHtml(prompt.name)}</p>`));
}

// ---------------------------------------------------------------------------
// The server. It listens first, so that with OIDC_PORT=0 the issuer can name
// the port it got; requests only arrive once the provider exists anyway,
// because nobody knows the address before the OIDC_READY line.

let provider;
let providerCallback;

const server = createServer((req, res) => {
  const path = new URL(req.url, 'http://x').pathname;

  const handle = async () => {
    if (path.startsWith('/test/')) return testRoute(req, res, path);
    if (down) {
      return send(res, 503, 'text/plain; charset=utf-8', 'identity provider is down\n');
    }
    if (req.method === 'GET' && /^\/interaction\/[^/]+$/.test(path)) {
      return interaction(provider, req, res);
    }
    return providerCallback(req, res);
  };

  handle().catch((err) => {
    process.stderr.write(`oidc provider: ${err.stack ?? err}\n`);
    if (!res.headersSent) {
      send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
    } else {
      res.destroy();
    }
  });
});

server.listen(port, HOST, () => {
  const issuer = `http://${HOST}:${server.address().port}`;
  provider = new Provider(issuer, configuration());
  // Log provider-side errors (bad client auth, reused codes, ...) to stderr;
  // they are expected in some tests, so they are not fatal.
  provider.on('server_error', (ctx, err) => {
    process.stderr.write(`oidc provider server_error: ${err.stack ?? err}\n`);
  });
  providerCallback = provider.callback();
  process.stdout.write(`OIDC_READY ${issuer}\n`);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  // Whatever still holds the loop open, do not outlive the signal.
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
