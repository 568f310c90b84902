// fbgraph (npm), unmodified and pointed at suat only by setGraphUrl/setVersion: GET /me, /me/accounts following
// `paging.next`, a page token, debug_token, extendAccessToken (fb_exchange_token) and `del` (fbgraph's DELETE is a
// POST with method=delete). Prints one JSON object. Called by crates/suat-server/tests/clients_oauth2.rs.
const graph = require('fbgraph');

const call = (fn, ...args) => new Promise((resolve) => {
  fn.call(graph, ...args, (err, res) => resolve(err ? { error: err } : res));
});

(async () => {
  const { SUAT_URL, APP_ID, APP_SECRET, SU_ID, SU_TOKEN, ADMIN_TOKEN } = process.env;
  graph.setGraphUrl(SUAT_URL);
  graph.setVersion('25.0');
  graph.setAccessToken(SU_TOKEN);
  graph.setAppSecret(APP_SECRET); // fbgraph then adds appsecret_proof to every call
  const out = {};
  out.me = await call(graph.get, '/me');
  const first = await call(graph.get, 'me/accounts', { limit: 1 });
  const pages = [...(first.data || [])];
  let next = first.paging && first.paging.next;
  out.first_page_had_next = !!next;
  while (next) {
    const more = await call(graph.get, next);
    if (more.error) { out.paging_error = more.error; break; }
    pages.push(...more.data);
    next = more.paging && more.paging.next;
  }
  out.accounts = pages.map((p) => ({ id: p.id, name: p.name, has_token: !!p.access_token }));
  const page = await call(graph.get, `/${pages[0].id}`, { fields: 'access_token' });
  out.page_token = { id: page.id, has_token: !!page.access_token };
  const debug = await call(graph.get, '/debug_token', { input_token: page.access_token, access_token: `${APP_ID}|${APP_SECRET}` });
  out.debug = debug.data;
  const extended = await call(graph.extendAccessToken, { client_id: APP_ID, client_secret: APP_SECRET });
  out.extended = { token_type: extended.token_type, expires_in: extended.expires_in, new: extended.access_token !== SU_TOKEN };
  // extendAccessToken made the new token current; the admin deletes every token of the system user.
  graph.setAccessToken(ADMIN_TOKEN);
  out.del = await call(graph.del, `/${SU_ID}/access_tokens`);
  graph.setAccessToken(extended.access_token);
  const after = await call(graph.get, '/me');
  out.after_delete = after.error ? { code: after.error.code, subcode: after.error.error_subcode } : after;
  console.log(JSON.stringify(out));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
