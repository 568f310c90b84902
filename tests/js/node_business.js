// The official Node business SDK against suat, unmodified but for the documented host override: a stable page
// token through Page#get, debug_token and the authorization-code exchange through api.call. Prints one JSON object.
const bizSdk = require('facebook-nodejs-business-sdk');
const { FacebookAdsApi, Page } = bizSdk;

(async () => {
  const e = process.env;
  Object.defineProperty(FacebookAdsApi, 'GRAPH', { get: () => e.SUAT_URL });
  const out = {};

  const api = FacebookAdsApi.init(e.SU_TOKEN);
  const page = await new Page(e.PAGE_ID).get(['access_token', 'name']);
  out.page = { id: page.id, name: page.name, access_token: page.access_token };

  const debug = await api.call('GET', ['debug_token'], { input_token: page.access_token, access_token: `${e.APP_ID}|${e.APP_SECRET}` });
  out.debug = debug.data;

  const exchanged = await api.call('GET', ['oauth', 'access_token'], {
    client_id: e.APP_ID, client_secret: e.APP_SECRET, redirect_uri: e.REDIRECT_URI, code: e.CODE,
  });
  out.exchange = { token_type: exchanged.token_type, expires_in: exchanged.expires_in, has_token: !!exchanged.access_token };

  try {
    await api.call('GET', ['oauth', 'access_token'], {
      client_id: e.APP_ID, client_secret: e.APP_SECRET, redirect_uri: e.REDIRECT_URI, code: e.CODE,
    });
    out.reuse = 'accepted';
  } catch (err) {
    out.reuse = { status: err.status, message: err.message };
  }
  console.log(JSON.stringify(out));
})().catch((err) => {
  console.error(err && err.response ? JSON.stringify(err.response) : err);
  process.exit(1);
});
