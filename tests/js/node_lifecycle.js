// The official Node business SDK through the calls its users make, unmodified but for the documented host
// override: the profile, /me/accounts through the SDK's Cursor (it follows paging.next verbatim), a page token,
// debug_token, refresh, revoke and delete. Prints one JSON object.
const bizSdk = require('facebook-nodejs-business-sdk');
const { FacebookAdsApi, Page, User } = bizSdk;

async function failure(call) {
  try {
    await call();
    return 'accepted';
  } catch (err) {
    const e = err.response || {}; // the SDK keeps the envelope's `error` object here
    return { status: err.status, code: e.code, subcode: e.error_subcode, message: e.message };
  }
}

(async () => {
  const e = process.env;
  Object.defineProperty(FacebookAdsApi, 'GRAPH', { get: () => e.SUAT_URL });
  const out = {};

  const api = FacebookAdsApi.init(e.SU_TOKEN);
  const me = await new User('me').get(['name', 'id']);
  out.me = { name: me.name, id: me.id };
  let cursor = await new User('me').getAccounts(['name'], { limit: 1 });
  out.accounts = cursor.map((p) => p.id);
  while (cursor.hasNext()) {
    cursor = await cursor.next();
    out.accounts.push(...cursor.map((p) => p.id));
  }
  const page = await new Page(e.PAGE_ID).get(['access_token']);
  out.page_token = page.access_token.slice(0, 3);
  out.debug = (await api.call('GET', ['debug_token'], { input_token: e.SU_TOKEN })).data;

  const fresh = await api.call('GET', ['oauth', 'access_token'], {
    grant_type: 'fb_exchange_token', client_id: e.APP_ID, client_secret: e.APP_SECRET, fb_exchange_token: e.SU_TOKEN,
  });
  out.refresh = { expires_in: fresh.expires_in, token_type: fresh.token_type };
  const newApi = FacebookAdsApi.init(fresh.access_token);
  out.revoke = await newApi.call('POST', ['oauth', 'revoke'], {
    client_id: e.APP_ID, client_secret: e.APP_SECRET, revoke_token: e.SU_TOKEN,
  });
  const oldApi = new FacebookAdsApi(e.SU_TOKEN);
  out.old_after_revoke = await failure(() => oldApi.call('GET', ['me'], {}));
  out.new_after_revoke = (await newApi.call('GET', ['me'], { fields: 'id' })).id;

  const adminApi = new FacebookAdsApi(e.ADMIN_TOKEN);
  out.delete = await adminApi.call('DELETE', [e.SU_ID, 'access_tokens'], {});
  out.new_after_delete = await failure(() => newApi.call('GET', ['me'], {}));
  console.log(JSON.stringify(out));
})().catch((err) => {
  console.error(err && err.response ? JSON.stringify(err.response) : err);
  process.exit(1);
});
