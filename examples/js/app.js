// A small piece of "your application": a login with passport-facebook and a check of a stored ads token with the
// Node business SDK. It knows nothing about suat: app.test.js passes it suat's URLs, as it would pass Meta's.
'use strict';

const express = require('express');
const passport = require('passport');
const { Strategy } = require('passport-facebook');
const bizSdk = require('facebook-nodejs-business-sdk');

/** An express app with /login and /callback; `oauthUrls` are passport-facebook's authorizationURL etc. */
function loginApp({ clientID, clientSecret, callbackURL, oauthUrls }) {
  const app = express();
  const auth = new passport.Passport();
  auth.use(new Strategy({
    clientID, clientSecret, callbackURL, graphAPIVersion: 'v25.0', profileFields: ['id', 'displayName'], enableProof: true,
    ...oauthUrls,
  }, (accessToken, refreshToken, profile, done) => done(null, { id: profile.id, name: profile.displayName })));
  app.get('/login', auth.authenticate('facebook', { scope: ['email'], session: false }));
  app.get('/callback', auth.authenticate('facebook', { session: false, failWithError: true }),
    (req, res) => res.json({ welcome: req.user.name, id: req.user.id }));
  app.use((err, req, res, next) => res.status(401).json({ error: String(err.message || err) })); // eslint-disable-line no-unused-vars
  return app;
}

/** What the business SDK says about a token: valid or not, and days left (null when it never expires). */
async function tokenHealth(appId, appSecret, token, now) {
  const api = bizSdk.FacebookAdsApi.init(token);
  const { data } = await api.call('GET', ['debug_token'], { input_token: token, access_token: `${appId}|${appSecret}` });
  if (!data.is_valid) return { valid: false, reason: data.error.message };
  return { valid: true, daysLeft: data.expires_at ? Math.floor((data.expires_at - now) / 86400) : null };
}

module.exports = { loginApp, tokenHealth };
