// Run a suat server from Node tests and drive its control plane (`/_suat/*`).
//
// `startSuat()` spawns `suat serve` on a free port with an in-memory store, keys made for this run and a seed, and
// resolves once the server has said where it listens (no polling, no sleeping). `useSuat(hooks)` wires that into
// any runner's hooks (node:test, Jest, Vitest). No dependencies: Node's own child_process and fetch.
'use strict';

const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

/** The seed shipped with the package (the repository's examples/seed.toml). */
const DEFAULT_SEED = path.join(__dirname, 'seed.toml');

/** What DEFAULT_SEED creates, for tests to use by name. */
const DEMO = Object.freeze({
  businessId: '1001',
  appId: '2001',
  appSecret: 'acme-demo-secret-0123456789abcdef',
  adminUserId: '3001',
  adminPassword: 'correct horse battery',
  adminToken: 'EAAdemoAdminUserToken0123456789abcdefghijklmnop',
  systemUserId: '4001',
  pageId: '5001',
});

const LISTENING = /suat listening on (http:\/\/\S+)/;

/** Makes the business SDK's `FacebookAdsApi.GRAPH` read `url()`; returns the undo. */
function pointGraph(bizSdk, url) {
  const Api = bizSdk.FacebookAdsApi;
  const before = Object.getOwnPropertyDescriptor(Api, 'GRAPH');
  Object.defineProperty(Api, 'GRAPH', { get: url, configurable: true });
  return () => {
    if (before) Object.defineProperty(Api, 'GRAPH', before);
    else delete Api.GRAPH;
  };
}

/** The suat binary: `explicit`, else $SUAT_BIN, else `suat` on PATH. */
function findBinary(explicit) {
  const named = explicit || process.env.SUAT_BIN;
  if (named) {
    try {
      fs.accessSync(named, fs.constants.X_OK);
    } catch {
      throw new Error(`suat binary ${JSON.stringify(named)} does not exist or is not executable`);
    }
    return named;
  }
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const candidate = path.join(dir || '.', 'suat');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error('no `suat` on PATH: install it (`cargo install --path crates/suat-cli` in the suat repository, '
    + 'or put a release binary on PATH), or name it with { bin } / SUAT_BIN');
}

class Suat {
  constructor(url, adminKey, child, workdir, stderr) {
    /** Graph base URL, `http://127.0.0.1:PORT`. */
    this.url = url;
    this.adminKey = adminKey;
    this.apiVersion = 'v25.0';
    this._child = child;
    this._workdir = workdir;
    this._stderr = stderr;
  }

  /** `url` with the API version. */
  get graphUrl() {
    return `${this.url}/${this.apiVersion}`;
  }

  /** What the server wrote on stderr so far. */
  get logs() {
    return this._stderr.join('');
  }

  /** Stops the server and removes its directory. */
  async stop() {
    const child = this._child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    if (this._workdir) fs.rmSync(this._workdir, { recursive: true, force: true });
  }

  /** One control-plane call under /_suat/; resolves to its JSON answer, rejects with the server's error. */
  async admin(method, p, body) {
    const url = `${this.url}/_suat/${p.replace(/^\//, '')}`;
    let res;
    try {
      res = await fetch(url, {
        method,
        headers: { Authorization: `Bearer ${this.adminKey}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new Error(`${method} ${url}: ${e.cause ? e.cause.message : e.message} (is the server running?)\n${this.logs}`);
    }
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${url}: HTTP ${res.status}: ${text}`);
    return text ? JSON.parse(text) : null;
  }

  /** Back to the seeded state (`'empty'`: no objects); clock offset 0, no faults, no rate-limit counts. */
  reset(to) {
    return this.admin('POST', 'reset', to === undefined ? {} : { to });
  }

  /** The server clock (unix seconds), the one every expiry rule reads. */
  async now() {
    return (await this.admin('GET', 'clock')).now;
  }

  /** Moves the server clock forward (e.g. `61 * 86400` to expire a 60-day token); resolves to the new now. */
  async advance(seconds) {
    return (await this.admin('POST', 'clock', { advance: seconds })).now;
  }

  async setClock(unixSeconds) {
    return (await this.admin('POST', 'clock', { set: unixSeconds })).now;
  }

  /** Adds a fault rule, e.g. `{ path: '/me', times: 1, error: { code: 2 } }`; resolves to it (with its id). */
  addFault(rule) {
    return this.admin('POST', 'faults', rule);
  }

  /** The fault rules, with their `hits` and `remaining`. */
  async faults() {
    return (await this.admin('GET', 'faults')).data;
  }

  removeFault(id) {
    return this.admin('DELETE', `faults/${id}`);
  }

  /** Runs `fn` with the fault rule in place, and removes it afterwards. */
  async withFault(rule, fn) {
    const added = await this.addFault(rule);
    try {
      return await fn(added);
    } finally {
      await this.removeFault(added.id);
    }
  }

  setAppRateLimit(appId, callsPerHour) {
    return this.admin('POST', `apps/${appId}`, { rate_limit: callsPerHour });
  }

  setUserRateLimit(appId, callsPerHour) {
    return this.admin('POST', `apps/${appId}`, { user_rate_limit: callsPerHour });
  }

  setBusinessRateLimit(businessId, callsPerHour) {
    return this.admin('POST', `businesses/${businessId}`, { rate_limit: callsPerHour });
  }

  usage() {
    return this.admin('GET', 'usage');
  }

  /** The request journal, newest first (filters: path, app_id, status, limit). */
  async requests(filters = {}) {
    const q = new URLSearchParams(filters).toString();
    return (await this.admin('GET', `requests${q ? `?${q}` : ''}`)).data;
  }

  /**
   * Points the Node business SDK (`facebook-nodejs-business-sdk`) at this server, through its `FacebookAdsApi.GRAPH`
   * constant; returns a function that undoes it.
   */
  pointBusinessSdk(bizSdk) {
    const { url } = this;
    return pointGraph(bizSdk, () => url);
  }

  /** The passport-facebook Strategy options that send it here instead of facebook.com. */
  passportFacebookOptions() {
    return {
      authorizationURL: `${this.graphUrl}/dialog/oauth`,
      tokenURL: `${this.graphUrl}/oauth/access_token`,
      profileURL: `${this.graphUrl}/me`,
    };
  }
}

const unescapeHtml = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<')
  .replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/**
 * What a person's browser does on suat's consent page (`/dialog/oauth`), over plain HTTP: fetch it, sign in as
 * `userId`, keep the boxes the page ticks, press Allow. Resolves to the URL the dialog redirects to (with `code` and
 * `state`), not followed. Keeps the page's cookie and sends its Origin, as a browser does.
 */
async function consent(dialogUrl, userId, password) {
  const page = await fetch(dialogUrl);
  if (!page.ok) throw new Error(`${dialogUrl} answered ${page.status}: ${await page.text()}`);
  const cookie = page.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const text = await page.text();
  const found = text.match(/<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/);
  if (!found) throw new Error(`no consent form at ${dialogUrl}: ${text.slice(0, 300)}`);
  const form = new URLSearchParams();
  for (const tag of found[2].match(/<input [^>]*>/g) || []) {
    const attrs = Object.fromEntries([...tag.matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, unescapeHtml(v)]));
    if (attrs.type === 'hidden' || (attrs.type === 'checkbox' && / checked/.test(tag))) form.append(attrs.name, attrs.value || '');
  }
  form.append('user', userId);
  form.append('password', password);
  form.append('action', 'allow');
  const r = await fetch(new URL(unescapeHtml(found[1]), dialogUrl), {
    method: 'POST', body: form, redirect: 'manual', headers: { cookie, origin: new URL(dialogUrl).origin },
  });
  if (r.status !== 302) throw new Error(`consent answered ${r.status}: ${await r.text()}`);
  return r.headers.get('location');
}

/**
 * Starts `suat serve --listen 127.0.0.1:0 --db :memory:` in a private temporary directory with fresh keys.
 * Options: `bin` (else $SUAT_BIN, else PATH), `seed` (a path; `null` for no objects; default DEFAULT_SEED),
 * `args` (more `suat serve` flags). Rejects with the server's own words if it exits instead of listening.
 */
function startSuat({ bin, seed = DEFAULT_SEED, args = [] } = {}) {
  const exe = findBinary(bin);
  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'suat-testing-'));
  const adminKey = randomBytes(32).toString('hex');
  const env = { ...process.env, SUAT_MASTER_KEY: randomBytes(32).toString('hex'), SUAT_ADMIN_KEY: adminKey, RUST_LOG: 'warn' };
  for (const v of ['SUAT_DATABASE_URL', 'SUAT_LISTEN', 'SUAT_DB', 'SUAT_PUBLIC_URL', 'SUAT_KEY_FILE', 'SUAT_ADMIN_KEY_FILE']) delete env[v];
  const argv = ['serve', '--listen', '127.0.0.1:0', '--db', ':memory:'];
  if (seed !== null) argv.push('--seed', path.resolve(seed));
  argv.push(...args);
  const child = spawn(exe, argv, { cwd: workdir, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = [];
  return new Promise((resolve, reject) => {
    let done = false;
    let closed = false;
    const lines = readline.createInterface({ input: child.stderr });
    const failed = (why) => {
      fs.rmSync(workdir, { recursive: true, force: true });
      reject(new Error(`\`${exe} ${argv.join(' ')}\` ${why} before listening:\n${stderr.join('')}`));
    };
    lines.once('close', () => { closed = true; });
    // Keeps reading after the listening line too, so the server never blocks on a full pipe.
    lines.on('line', (line) => {
      stderr.push(`${line}\n`);
      const m = !done && LISTENING.exec(line);
      if (m) {
        done = true;
        resolve(new Suat(m[1], adminKey, child, workdir, stderr));
      }
    });
    child.once('error', (e) => {
      if (!done) {
        done = true;
        fs.rmSync(workdir, { recursive: true, force: true });
        reject(new Error(`cannot run ${exe}: ${e.message}`));
      }
    });
    child.once('exit', (code, signal) => {
      if (!done) {
        done = true;
        // 'exit' and the end of stderr come in either order: report once both have happened, with every line.
        if (closed) failed(`exited (${signal || code})`);
        else lines.once('close', () => failed(`exited (${signal || code})`));
      }
    });
  });
}

/**
 * Wires one server into a test runner's hooks, reset before each test:
 *   node:test  useSuat({ before, after, beforeEach })            (from require('node:test'))
 *   Jest       useSuat({ before: beforeAll, after: afterAll, beforeEach })
 *   Vitest     the same, imported from 'vitest'
 * Returns a handle whose `server` is the running Suat once `before` has run; its methods forward to it, and its
 * `pointBusinessSdk(bizSdk)` may be called at once, at the top of the file (it returns the undo).
 */
function useSuat({ before, after, beforeEach }, options = {}) {
  const handle = {
    server: null,
    // Callable before the server is up (at the top of a test file): the SDK reads the URL at each call.
    pointBusinessSdk(bizSdk) {
      return pointGraph(bizSdk, () => {
        if (!handle.server) throw new Error('the suat server is not started yet: make Graph calls inside tests or hooks');
        return handle.server.url;
      });
    },
  };
  before(async () => {
    handle.server = await startSuat(options);
  });
  if (beforeEach) {
    beforeEach(async () => {
      await handle.server.reset();
    });
  }
  after(async () => {
    if (handle.server) await handle.server.stop();
  });
  return new Proxy(handle, {
    get(target, prop) {
      if (prop in target) return target[prop];
      if (!target.server) throw new Error('the suat server is not started yet: use it inside tests or hooks');
      const v = target.server[prop];
      return typeof v === 'function' ? v.bind(target.server) : v;
    },
  });
}

module.exports = { startSuat, useSuat, consent, findBinary, Suat, DEMO, DEFAULT_SEED };
