"""The `facebook-sdk` package (PyPI) through the calls its users make, unmodified but for FACEBOOK_GRAPH_URL: the
profile, /me/accounts followed page by page (get_all_connections reads paging.next), a page token, debug_token,
refresh (extend_access_token), revoke and delete. Prints one JSON object."""
import json
import os
import sys

import facebook

facebook.FACEBOOK_GRAPH_URL = os.environ["SUAT_URL"] + "/"
e = os.environ
out = {}


def failure(call):
    try:
        call()
        return "accepted"
    except facebook.GraphAPIError as err:
        return {"code": err.code, "message": err.message}


graph = facebook.GraphAPI(access_token=e["SU_TOKEN"], version="3.1")
out["me"] = graph.get_object("me", fields="name,id")
out["accounts"] = [p["id"] for p in graph.get_all_connections("me", "accounts", limit=1, fields="name")]
out["page_token"] = graph.get_object(e["PAGE_ID"], fields="access_token")["access_token"][:3]
out["debug"] = graph.debug_access_token(e["SU_TOKEN"], e["APP_ID"], e["APP_SECRET"])["data"]

fresh = graph.extend_access_token(e["APP_ID"], e["APP_SECRET"])
out["refresh"] = {"expires_in": int(fresh["expires_in"]), "token_type": fresh.get("token_type")}
new_graph = facebook.GraphAPI(access_token=fresh["access_token"], version="3.1")
out["revoke"] = new_graph.request(
    "oauth/revoke",
    post_args={"client_id": e["APP_ID"], "client_secret": e["APP_SECRET"], "revoke_token": e["SU_TOKEN"]},
)
out["old_after_revoke"] = failure(lambda: graph.get_object("me"))
out["new_after_revoke"] = new_graph.get_object("me", fields="id")["id"]

admin = facebook.GraphAPI(access_token=e["ADMIN_TOKEN"], version="3.1")
out["delete"] = admin.request(e["SU_ID"] + "/access_tokens", method="DELETE")
out["new_after_delete"] = failure(lambda: new_graph.get_object("me"))
json.dump(out, sys.stdout)
