"""Meta's `facebook-business` SDK through the calls its users make, unmodified but for the host: the profile,
/me/accounts through the SDK's Cursor (it pages with the `after` cursor), a page token, debug_token, refresh and
revoke through the SDK's own transport (which adds appsecret_proof to every call), and delete. Prints one JSON
object."""
import json
import os
import sys

from facebook_business.adobjects.page import Page
from facebook_business.adobjects.user import User
from facebook_business.api import FacebookAdsApi, FacebookSession
from facebook_business.exceptions import FacebookRequestError

FacebookSession.GRAPH = os.environ["SUAT_URL"]
e = os.environ
app_id, secret = e["APP_ID"], e["APP_SECRET"]
out = {}


def session(token):
    return FacebookAdsApi(FacebookSession(app_id, secret, token), api_version="v25.0")


def failure(call):
    try:
        call()
        return "accepted"
    except FacebookRequestError as err:
        return {"code": err.api_error_code(), "subcode": err.api_error_subcode(), "message": err.api_error_message()}


api = session(e["SU_TOKEN"])
me = User(fbid="me", api=api).api_get(fields=["name", "id"])
out["me"] = {"name": me["name"], "id": me["id"]}
out["accounts"] = [p["id"] for p in User(fbid="me", api=api).get_accounts(fields=["name"], params={"limit": 1})]
out["page_token"] = Page(e["PAGE_ID"], api=api).api_get(fields=["access_token"])["access_token"][:3]
out["debug"] = api.call("GET", ("debug_token",), params={"input_token": e["SU_TOKEN"]}).json()["data"]

fresh = api.call("GET", ("oauth", "access_token"), params={
    "grant_type": "fb_exchange_token",
    "client_id": app_id,
    "client_secret": secret,
    "fb_exchange_token": e["SU_TOKEN"],
}).json()
out["refresh"] = {"expires_in": fresh["expires_in"], "token_type": fresh["token_type"]}
new_api = session(fresh["access_token"])
out["revoke"] = new_api.call("POST", ("oauth", "revoke"), params={
    "client_id": app_id, "client_secret": secret, "revoke_token": e["SU_TOKEN"],
}).json()
out["old_after_revoke"] = failure(lambda: User(fbid="me", api=api).api_get(fields=["id"]))
out["new_after_revoke"] = User(fbid="me", api=new_api).api_get(fields=["id"])["id"]

User(fbid=e["SU_ID"], api=session(e["ADMIN_TOKEN"])).delete_access_tokens()
out["new_after_delete"] = failure(lambda: User(fbid="me", api=new_api).api_get(fields=["id"]))
json.dump(out, sys.stdout)
