"""requests-oauthlib (PyPI) with its `facebook_compliance_fix`, unmodified and pointed at suat by full URLs only:
authorization_url (scopes joined with spaces), the consent page, fetch_token (client secret by HTTP Basic,
grant_type=authorization_code), GET /me with the session's Bearer header, the fb_exchange_token refresh and
/oauth/revoke as its users call them through the session. Prints one JSON object.

OAUTHLIB_INSECURE_TRANSPORT=1 (oauthlib's documented switch) lets it talk to suat's plain-HTTP test server."""
import json
import os
import sys

from requests_oauthlib import OAuth2Session
from requests_oauthlib.compliance_fixes import facebook_compliance_fix

from consent_http import consent

e = os.environ
graph = e["SUAT_URL"] + "/v25.0"
out = {}

fb = facebook_compliance_fix(OAuth2Session(e["APP_ID"], redirect_uri=e["REDIRECT_URI"], scope=["email", "public_profile"]))
authorization_url, state = fb.authorization_url(graph + "/dialog/oauth")
out["authorization_url"] = authorization_url
redirected = consent(authorization_url, e["USER_ID"], e["PASSWORD"])
token = fb.fetch_token(graph + "/oauth/access_token", client_secret=e["APP_SECRET"], authorization_response=redirected)
out["token"] = {"token_type": token["token_type"], "expires_in": token["expires_in"], "has_token": bool(token.get("access_token"))}

me = fb.get(graph + "/me")
out["me"] = me.json()

# Facebook has no refresh_token: its users extend with fb_exchange_token through the session.
longer = fb.get(graph + "/oauth/access_token", params={
    "grant_type": "fb_exchange_token", "client_id": e["APP_ID"], "client_secret": e["APP_SECRET"],
    "fb_exchange_token": token["access_token"]}).json()
out["refresh"] = {"expires_in": longer["expires_in"], "new": longer["access_token"] != token["access_token"]}

revoked = fb.post(graph + "/oauth/revoke", data={
    "client_id": e["APP_ID"], "client_secret": e["APP_SECRET"], "revoke_token": token["access_token"]})
out["revoke"] = revoked.json()
after = fb.get(graph + "/me")
out["after_revoke"] = {"status": after.status_code, "error": after.json().get("error", {}).get("error_subcode")}
out["new_token_me"] = OAuth2Session(e["APP_ID"], token={"access_token": longer["access_token"], "token_type": "bearer"}).get(graph + "/me").json()

json.dump(out, sys.stdout)
