// A sample node:test suite using the suat-testing package (installed from ../../js): one server for the file, reset
// before each test; the Node business SDK pointed at it with one call, passport-facebook with its options; the
// consent page answered as a browser would; the clock moved instead of waiting 61 days.
'use strict';

const { test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const bizSdk = require('facebook-nodejs-business-sdk');
const { useSuat, consent, DEMO } = require('suat-testing');
const { loginApp, tokenHealth } = require('./app');

const suat = useSuat({ before, after, beforeEach });
after(suat.pointBusinessSdk(bizSdk)); // every FacebookAdsApi call of this file goes to suat; undone at the end

test('a person signs in with Facebook (suat) and is welcomed by name', async () => {
  // The callback URL must be registered on the app before the dialog accepts it, and it holds the port: listen
  // first, then register the app, then build the login app with its id.
  let handler = (req, res) => res.end();
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    const registered = await suat.admin('POST', 'apps', {
      name: 'Example Login', owner_business: DEMO.businessId, redirect_uris: [`${base}/callback`],
    });
    handler = loginApp({
      clientID: registered.id, clientSecret: registered.secret, callbackURL: `${base}/callback`,
      oauthUrls: suat.passportFacebookOptions(),
    });
    const login = await fetch(`${base}/login`, { redirect: 'manual' });
    assert.equal(login.status, 302);
    const back = await consent(login.headers.get('location'), DEMO.adminUserId, DEMO.adminPassword);
    const answer = await (await fetch(back)).json();
    assert.deepEqual(answer, { welcome: 'Ada Admin', id: DEMO.adminUserId });
  } finally {
    server.close();
  }
});

test('token health: valid with 60 days left, then expired 61 days later', async () => {
  const api = bizSdk.FacebookAdsApi.init(DEMO.adminToken);
  await api.call('POST', [DEMO.systemUserId, 'applications'], { business_app: DEMO.appId });
  const proof = require('node:crypto').createHmac('sha256', DEMO.appSecret).update(DEMO.adminToken).digest('hex');
  const { access_token: token } = await api.call('POST', [DEMO.systemUserId, 'access_tokens'], {
    business_app: DEMO.appId, scope: 'ads_read', set_token_expires_in_60_days: true, appsecret_proof: proof,
  });
  const now = await tokenHealth(DEMO.appId, DEMO.appSecret, token, await suat.now());
  assert.equal(now.valid, true);
  assert.ok([59, 60].includes(now.daysLeft), `days left: ${now.daysLeft}`); // 60 in the second it was issued
  await suat.advance(61 * 86400);
  const later = await tokenHealth(DEMO.appId, DEMO.appSecret, token, await suat.now());
  assert.equal(later.valid, false);
  assert.match(later.reason, /Session has expired/);
});

test('an outage on debug_token reaches the app as the SDK\'s error', async () => {
  await suat.addFault({ path: '/debug_token', times: 1, error: { code: 2, is_transient: true } });
  await assert.rejects(tokenHealth(DEMO.appId, DEMO.appSecret, DEMO.adminToken, await suat.now()));
  assert.equal((await tokenHealth(DEMO.appId, DEMO.appSecret, DEMO.adminToken, await suat.now())).valid, true);
});
