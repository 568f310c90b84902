// A full login with passport-facebook (npm), unmodified and pointed at suat only by its documented
// authorizationURL, tokenURL and profileURL options (plus profileFields and enableProof, as its users set them): a
// tiny express app; headless Debian Chromium (playwright-core, never a downloaded browser) visits its /login, lands
// on suat's consent page, signs in and Allows; the callback exchanges the code (grant_type=authorization_code) and
// fetches the profile from /me. Prints one JSON object: the app's answer to the browser. Called by
// crates/suat-server/tests/clients_oauth2.rs.
//
// Harness, not client: the app is registered on suat through the control plane once the express app knows its port
// (its callback URL must be registered before the dialog accepts it).
const express = require('express');
const passport = require('passport');
const FacebookStrategy = require('passport-facebook').Strategy;
const { chromium } = require('playwright-core');

(async () => {
  const { SUAT_URL, ADMIN_KEY, BUSINESS_ID, USER_ID, PASSWORD } = process.env;
  const app = express();
  const server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  const base = `http://127.0.0.1:${server.address().port}`;
  const callbackURL = `${base}/auth/facebook/callback`;
  const registered = await (await fetch(`${SUAT_URL}/_suat/apps`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'Passport App', owner_business: BUSINESS_ID, redirect_uris: [callbackURL] }),
  })).json();

  passport.use(new FacebookStrategy({
    clientID: registered.id,
    clientSecret: registered.secret,
    callbackURL,
    authorizationURL: `${SUAT_URL}/v25.0/dialog/oauth`,
    tokenURL: `${SUAT_URL}/v25.0/oauth/access_token`,
    profileURL: `${SUAT_URL}/v25.0/me`,
    graphAPIVersion: 'v25.0',
    // As its README shows: the profile asked by fields (`/me?fields=id,name`), with appsecret_proof.
    profileFields: ['id', 'displayName'],
    enableProof: true,
  }, (accessToken, refreshToken, profile, done) => done(null, {
    id: profile.id, displayName: profile.displayName, provider: profile.provider, hasToken: !!accessToken,
  })));
  app.get('/login', passport.authenticate('facebook', { scope: ['email'], session: false }));
  app.get('/auth/facebook/callback',
    passport.authenticate('facebook', { session: false, failWithError: true }),
    (req, res) => res.json({ user: req.user, app_id: registered.id }));
  app.use((err, req, res, next) => res.status(500).json({ error: String(err && (err.message || err)), oauth: err && err.oauthError && String(err.oauthError.data) }));

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${base}/login`);
    const consentUrl = page.url();
    const permissions = await page.$$eval('#permissions li', (lis) => lis.map((li) => li.textContent.trim()));
    await page.fill('#user', USER_ID);
    await page.fill('#password', PASSWORD);
    await Promise.all([
      page.waitForURL((u) => u.toString().startsWith(callbackURL), { timeout: 15000 }),
      page.click('#allow'),
    ]);
    const answer = JSON.parse(await page.textContent('body'));
    console.log(JSON.stringify({ consentUrl, permissions, ...answer }));
  } finally {
    await browser.close();
    server.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
