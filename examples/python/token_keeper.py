"""A small piece of "your application": it keeps a system user's token fresh. It uses Meta's SDKs as any app
would and knows nothing about suat; test_token_keeper.py runs it against suat with the pytest-suat fixtures."""
import facebook
from facebook_business.adobjects.user import User
from facebook_business.api import FacebookAdsApi

DAY = 86400


def new_token(app_id, app_secret, admin_token, system_user_id, scopes):
    """Installs the app for the system user and generates a 60-day token (facebook-business)."""
    api = FacebookAdsApi.init(app_id, app_secret, admin_token, api_version="v25.0", crash_log=False)
    su = User(fbid=system_user_id, api=api)
    su.create_application(params={"business_app": app_id})
    return su.create_access_token(params={"business_app": app_id, "scope": scopes,
                                          "set_token_expires_in_60_days": True})["access_token"]


def keep_fresh(token, app_id, app_secret, now, margin_days=7):
    """Returns the token to use from now on: the same one while it has more than `margin_days` left, else a
    refreshed one (facebook-sdk's debug_access_token and extend_access_token). Raises if it is already dead."""
    info = facebook.GraphAPI(version="3.1").debug_access_token(token, app_id, app_secret)["data"]
    if not info["is_valid"]:
        raise RuntimeError(f"token is dead: {info['error']['message']}")
    expires = info.get("expires_at", 0)
    if expires == 0 or expires - now > margin_days * DAY:
        return token
    return facebook.GraphAPI(access_token=token, version="3.1").extend_access_token(app_id, app_secret)["access_token"]
