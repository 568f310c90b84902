"""A sample test suite using the pytest-suat plugin (`pip install ./python`): the fixtures start suat once, reset
it before each test, and point facebook-business and facebook-sdk at it; the clock helper replaces waiting 53 days."""
import facebook
import pytest

from pytest_suat import DEMO
from token_keeper import DAY, keep_fresh, new_token


@pytest.fixture
def sdks(suat_facebook_business, suat_facebook_sdk):
    """Both SDKs pointed at the same (reset) server."""
    return suat_facebook_business


def make():
    return new_token(DEMO["app_id"], DEMO["app_secret"], DEMO["admin_token"], DEMO["system_user_id"], ["ads_read"])


def test_a_young_token_is_kept(sdks):
    token = make()
    assert keep_fresh(token, DEMO["app_id"], DEMO["app_secret"], sdks.now()) == token


def test_a_token_near_expiry_is_refreshed(sdks):
    token = make()
    sdks.advance(55 * DAY)
    fresh = keep_fresh(token, DEMO["app_id"], DEMO["app_secret"], sdks.now())
    assert fresh != token
    # The new one is good for 60 days from the (moved) server clock.
    data = facebook.GraphAPI(version="3.1").debug_access_token(fresh, DEMO["app_id"], DEMO["app_secret"])["data"]
    assert data["expires_at"] - sdks.now() > 59 * DAY


def test_an_expired_token_is_reported(sdks):
    token = make()
    sdks.advance(61 * DAY)
    with pytest.raises(RuntimeError, match="Session has expired"):
        keep_fresh(token, DEMO["app_id"], DEMO["app_secret"], sdks.now())


def test_a_graph_outage_surfaces_as_the_sdks_error(sdks):
    token = make()
    sdks.advance(55 * DAY)
    with sdks.fault(path="/oauth/access_token", error={"code": 2, "is_transient": True}):
        with pytest.raises(facebook.GraphAPIError):
            keep_fresh(token, DEMO["app_id"], DEMO["app_secret"], sdks.now())
    assert keep_fresh(token, DEMO["app_id"], DEMO["app_secret"], sdks.now()) != token
