"""Authlib's requests OAuth2Session (PyPI), unmodified and pointed at suat by full URLs only:
create_authorization_url (scopes joined with spaces), the consent page, fetch_token (client_secret_basic,
grant_type=authorization_code), GET /me, the fb_exchange_token refresh, and revoke_token (Facebook names the token
`revoke_token` and wants the caller's `access_token`, given through revoke_token's documented `body`).
Prints one JSON object.

AUTHLIB_INSECURE_TRANSPORT=1 (Authlib's documented switch) lets it talk to suat's plain-HTTP test server."""
import json
import os
import sys
from urllib.parse import urlencode

from authlib.integrations.requests_client import OAuth2Session

from consent_http import consent

e = os.environ
graph = e["SUAT_URL"] + "/v25.0"
out = {}

client = OAuth2Session(e["APP_ID"], e["APP_SECRET"], scope="email public_profile", redirect_uri=e["REDIRECT_URI"])
uri, state = client.create_authorization_url(graph + "/dialog/oauth")
out["authorization_url"] = uri
redirected = consent(uri, e["USER_ID"], e["PASSWORD"])
token = client.fetch_token(graph + "/oauth/access_token", authorization_response=redirected)
out["token"] = {"token_type": token["token_type"], "expires_in": token["expires_in"], "has_token": bool(token.get("access_token"))}
out["me"] = client.get(graph + "/me").json()

longer = client.get(graph + "/oauth/access_token", params={
    "grant_type": "fb_exchange_token", "client_id": e["APP_ID"], "client_secret": e["APP_SECRET"],
    "fb_exchange_token": token["access_token"]}).json()
out["refresh"] = {"expires_in": longer["expires_in"], "new": longer["access_token"] != token["access_token"]}

revoked = client.revoke_token(graph + "/oauth/revoke", token=token["access_token"],
                              body=urlencode({"revoke_token": token["access_token"], "access_token": longer["access_token"]}))
out["revoke"] = {"status": revoked.status_code, "body": revoked.json()}
after = client.get(graph + "/me")
out["after_revoke"] = {"status": after.status_code, "error": after.json().get("error", {}).get("error_subcode")}

json.dump(out, sys.stdout)
