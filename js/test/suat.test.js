// The package's own tests (node:test): a real `suat serve` started by useSuat, reset between tests, its clock,
// faults and rate limits driven through the helpers, and the Node business SDK and passport-facebook pointed at it.
// The SDKs come from NODE_PATH (tests/js/node_modules in the repository); the package itself has no dependencies.
'use strict';

const { test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { useSuat, startSuat, consent, DEMO } = require('..');

const suat = useSuat({ before, after, beforeEach });

async function graph(method, path, params) {
  const q = new URLSearchParams(params);
  const url = `${suat.graphUrl}/${path}`;
  const r = method === 'GET' ? await fetch(`${url}?${q}`) : await fetch(url, { method, body: q });
  return { status: r.status, body: await r.json() };
}

const proof = (token) => crypto.createHmac('sha256', DEMO.appSecret).update(token).digest('hex');

async function generate() {
  await graph('POST', `${DEMO.systemUserId}/applications`, { business_app: DEMO.appId, access_token: DEMO.adminToken });
  const r = await graph('POST', `${DEMO.systemUserId}/access_tokens`, {
    business_app: DEMO.appId, scope: 'ads_read', set_token_expires_in_60_days: 'true',
    appsecret_proof: proof(DEMO.adminToken), access_token: DEMO.adminToken,
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.access_token;
}

const debug = async (token) => (await graph('GET', 'debug_token', {
  input_token: token, access_token: `${DEMO.appId}|${DEMO.appSecret}`,
})).body.data;

test('the server is up and seeded', async () => {
  assert.match(suat.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const r = await graph('GET', 'me', { access_token: DEMO.adminToken });
  assert.deepEqual(r.body, { name: 'Ada Admin', id: DEMO.adminUserId });
});

test('a test changes the state', async () => {
  await suat.admin('POST', 'businesses', { name: 'Made by one test' });
  await suat.advance(3600);
});

test('the next test starts from the seed again', async () => {
  const names = (await suat.admin('GET', 'dump')).businesses.map((b) => b.name);
  assert.ok(!names.includes('Made by one test') && names.includes('Acme Corp'));
  assert.equal((await suat.admin('GET', 'clock')).offset, 0);
});

test('the clock expires a 60-day token', async () => {
  const token = await generate();
  assert.equal((await debug(token)).is_valid, true);
  const before = await suat.now();
  assert.ok(await suat.advance(61 * 86400) >= before + 61 * 86400);
  const data = await debug(token);
  assert.equal(data.is_valid, false);
  assert.equal(data.error.subcode, 463);
});

test('a fault lasts for its block', async () => {
  await suat.withFault({ method: 'GET', path: '/me', times: 1, error: { code: 2, is_transient: true } }, async (rule) => {
    assert.equal(rule.remaining, 1);
    const r = await graph('GET', 'me', { access_token: DEMO.adminToken });
    assert.equal(r.body.error.code, 2);
    assert.equal((await graph('GET', 'me', { access_token: DEMO.adminToken })).status, 200);
  });
  assert.deepEqual(await suat.faults(), []);
});

test('an app rate limit refuses with code 4', async () => {
  await suat.setAppRateLimit(DEMO.appId, 2);
  for (let i = 0; i < 2; i += 1) assert.equal((await graph('GET', 'me', { access_token: DEMO.adminToken })).status, 200);
  const r = await graph('GET', 'me', { access_token: DEMO.adminToken });
  assert.deepEqual([r.status, r.body.error.code], [403, 4]);
});

test('the Node business SDK is pointed here, and back', async () => {
  const bizSdk = require('facebook-nodejs-business-sdk');
  const original = bizSdk.FacebookAdsApi.GRAPH;
  assert.match(original, /graph\.facebook\.com/);
  const undo = suat.pointBusinessSdk(bizSdk);
  try {
    assert.equal(bizSdk.FacebookAdsApi.GRAPH, suat.url);
    const api = bizSdk.FacebookAdsApi.init(DEMO.adminToken);
    const me = await api.call('GET', ['me'], { fields: 'id,name' });
    assert.equal(me.name, 'Ada Admin');
  } finally {
    undo();
  }
  assert.equal(bizSdk.FacebookAdsApi.GRAPH, original);
});

test('passport-facebook is pointed here: the redirect goes to suat and the code gives a profile', async () => {
  const { Strategy } = require('passport-facebook');
  const callbackURL = 'http://127.0.0.1:9/callback';
  const app = await suat.admin('POST', 'apps', { name: 'Login App', owner_business: DEMO.businessId, redirect_uris: [callbackURL] });
  const strategy = new Strategy({
    clientID: app.id, clientSecret: app.secret, callbackURL, graphAPIVersion: 'v25.0', ...suat.passportFacebookOptions(),
  }, () => {});
  // The strategy's first step, as passport runs it: a redirect to the authorization URL.
  const location = await new Promise((resolve, reject) => {
    Object.assign(strategy, { redirect: resolve, error: reject, fail: reject });
    strategy.authenticate({ query: {}, url: '/login', headers: {} }, { scope: ['email'], state: false });
  });
  assert.ok(location.startsWith(`${suat.graphUrl}/dialog/oauth?`), location);
  const back = new URL(await consent(location, DEMO.adminUserId, DEMO.adminPassword));
  assert.equal(`${back.origin}${back.pathname}`, callbackURL);
  const token = await new Promise((resolve, reject) => strategy._oauth2.getOAuthAccessToken(
    back.searchParams.get('code'), { grant_type: 'authorization_code', redirect_uri: callbackURL },
    (err, accessToken) => (err ? reject(err) : resolve(accessToken)),
  ));
  const profile = await new Promise((resolve, reject) => strategy.userProfile(token, (err, p) => (err ? reject(err) : resolve(p))));
  assert.equal(profile.id, DEMO.adminUserId);
  assert.equal(profile.provider, 'facebook');
});

test('a server that cannot start says why, in its own words', async () => {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'suat-bad-')), 'bad.toml');
  fs.writeFileSync(bad, '[[businesses]]\nname = 12\n');
  await assert.rejects(startSuat({ seed: bad }), /exited .* before listening:[\s\S]*suat serve:/);
  assert.throws(() => require('..').findBinary('/nonexistent/suat'), /does not exist/);
});
