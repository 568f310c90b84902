// simple-oauth2 (npm), unmodified and pointed at suat only by its documented `auth` settings (tokenHost,
// tokenPath, authorizePath): authorizeURL with its default space-joined scope, the consent page (over HTTP, as a
// browser would), getToken (client secret by HTTP Basic, grant_type=authorization_code), then a Graph call with the
// token it returned. Prints one JSON object. Called by crates/suat-server/tests/clients_oauth2.rs.
const { AuthorizationCode } = require('simple-oauth2');
const { consent } = require('./consent_http');

(async () => {
  const { SUAT_URL, APP_ID, APP_SECRET, REDIRECT_URI, USER_ID, PASSWORD } = process.env;
  const client = new AuthorizationCode({
    client: { id: APP_ID, secret: APP_SECRET },
    auth: { tokenHost: SUAT_URL, tokenPath: '/v25.0/oauth/access_token', authorizePath: '/v25.0/dialog/oauth' },
  });
  const authorizationUrl = client.authorizeURL({ redirect_uri: REDIRECT_URI, scope: ['email', 'public_profile'], state: 's-1' });
  const landed = new URL(await consent(authorizationUrl, USER_ID, PASSWORD));
  const accessToken = await client.getToken({ code: landed.searchParams.get('code'), redirect_uri: REDIRECT_URI });
  const { token } = accessToken;
  const me = await fetch(`${SUAT_URL}/v25.0/me`, { headers: { Authorization: `Bearer ${token.access_token}` } });
  console.log(JSON.stringify({
    authorizationUrl,
    state: landed.searchParams.get('state'),
    token: { token_type: token.token_type, expires_in: token.expires_in, has_token: !!token.access_token },
    expired: accessToken.expired(),
    me: await me.json(),
  }));
})().catch((e) => {
  console.error(e, e.data && e.data.payload && e.data.payload.toString());
  process.exit(1);
});
