"""Drives a suat server with Meta's official Python SDK (facebook-business), unmodified but for the host.

Called by crates/suat-server/tests/sdk_python.rs with the fixture in env vars; prints one JSON object of what it saw.
"""
import json
import os
import sys

from facebook_business.api import FacebookAdsApi, FacebookSession
from facebook_business.adobjects.user import User
from facebook_business.exceptions import FacebookRequestError

FacebookSession.GRAPH = os.environ["SUAT_URL"]  # the documented host override
app_id, secret = os.environ["APP_ID"], os.environ["APP_SECRET"]
admin_token, su_id = os.environ["ADMIN_TOKEN"], os.environ["SU_ID"]
out = {}

api = FacebookAdsApi.init(app_id, secret, admin_token, api_version="v25.0", crash_log=False)
su = User(fbid=su_id, api=api)

# The SDK strips `success` from parsed objects (as it does with the real Graph): no exception means success.
su.create_application(params={"business_app": app_id})
out["install"] = "ok"
# The raw envelope, through the SDK's own transport (installing again is idempotent).
out["install_raw"] = api.call("POST", (su_id, "applications"), params={"business_app": app_id}).json()

created = su.create_access_token(params={
    "business_app": app_id,
    "scope": ["ads_read", "ads_management"],
    "set_token_expires_in_60_days": True,
})
token = created["access_token"]
out["token_prefix"] = token[:3]
out["token_len"] = len(token)

# The new token works for a call made through the SDK (which adds appsecret_proof to every call).
su_api = FacebookAdsApi(FacebookSession(app_id, secret, token), api_version="v25.0")
me = User(fbid="me", api=su_api).api_get(fields=["id", "name"])
out["me"] = {"id": me["id"], "name": me["name"]}

# A proof made with the wrong secret is refused with the Graph error the SDK parses.
bad_api = FacebookAdsApi(FacebookSession(app_id, "wrong-secret", admin_token), api_version="v25.0")
try:
    User(fbid=su_id, api=bad_api).create_access_token(params={"business_app": app_id, "scope": ["ads_read"]})
    out["wrong_secret"] = "accepted"
except FacebookRequestError as e:
    out["wrong_secret"] = {"code": e.api_error_code(), "message": e.api_error_message(), "type": e.api_error_type()}

su.delete_access_tokens()
out["delete"] = "ok"

try:
    User(fbid="me", api=su_api).api_get(fields=["id"])
    out["after_delete"] = "still valid"
except FacebookRequestError as e:
    out["after_delete"] = {"code": e.api_error_code(), "subcode": e.api_error_subcode(), "message": e.api_error_message()}

json.dump(out, sys.stdout)
