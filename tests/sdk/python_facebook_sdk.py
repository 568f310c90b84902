"""The `facebook-sdk` package (PyPI) against suat, unmodified but for FACEBOOK_GRAPH_URL: a stable page token,
debug_access_token, the authorization-code exchange and extend_access_token. Prints one JSON object."""
import json
import os
import sys

import facebook

facebook.FACEBOOK_GRAPH_URL = os.environ["SUAT_URL"] + "/"  # trailing slash, as the SDK builds URLs
e = os.environ
out = {}

graph = facebook.GraphAPI(access_token=e["SU_TOKEN"], version="3.1")
page = graph.get_object(id=e["PAGE_ID"], fields="access_token,name")
out["page"] = page

info = graph.debug_access_token(page["access_token"], e["APP_ID"], e["APP_SECRET"])
out["debug"] = info["data"]

user = facebook.GraphAPI().get_access_token_from_code(e["CODE"], e["REDIRECT_URI"], e["APP_ID"], e["APP_SECRET"])
out["exchange"] = {"token_type": user.get("token_type"), "expires_in": user.get("expires_in"), "has_token": bool(user.get("access_token"))}

longer = facebook.GraphAPI(access_token=user["access_token"], version="3.1").extend_access_token(e["APP_ID"], e["APP_SECRET"])
out["extended_expires_in"] = int(longer["expires_in"])

try:
    facebook.GraphAPI().get_access_token_from_code(e["CODE"], e["REDIRECT_URI"], e["APP_ID"], e["APP_SECRET"])
    out["reuse"] = "accepted"
except facebook.GraphAPIError as err:
    out["reuse"] = {"code": err.code, "message": err.message, "type": err.type}

json.dump(out, sys.stdout)
