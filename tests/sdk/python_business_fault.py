"""The official Python SDK (facebook-business) meets a transient error injected by a suat fault rule.

Called by crates/suat-server/tests/faults_journal.rs after it added a rule that answers the next `GET /me` with a
transient Graph error; prints one JSON object of what the SDK saw, then of its retry.
"""
import json
import os

from facebook_business.adobjects.user import User
from facebook_business.api import FacebookAdsApi, FacebookSession
from facebook_business.exceptions import FacebookRequestError

FacebookSession.GRAPH = os.environ["SUAT_URL"]  # the documented host override
api = FacebookAdsApi.init(os.environ["APP_ID"], os.environ["APP_SECRET"], os.environ["ADMIN_TOKEN"],
                          api_version="v25.0", crash_log=False)
out = {}
try:
    User(fbid="me", api=api).api_get(fields=["id"])
    out["first"] = "ok"
except FacebookRequestError as e:
    out["first"] = {
        "status": e.http_status(),
        "code": e.api_error_code(),
        "subcode": e.api_error_subcode(),
        "transient": e.api_transient_error(),
        "message": e.api_error_message(),
        "fbtrace_id": e.body()["error"].get("fbtrace_id"),
        "request_id": e.http_headers().get("x-fb-request-id"),
    }
me = User(fbid="me", api=api).api_get(fields=["id"])
out["retry"] = {"id": me["id"]}
print(json.dumps(out))
