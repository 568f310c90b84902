"""The plugin's own tests: the fixtures start and reset a real `suat serve`, the helpers move its clock, inject
faults and set rate limits, and the SDK patches point facebook-business and facebook-sdk at it (and undo it)."""
import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request

import pytest

from pytest_suat import DEMO, Suat, SuatError


def graph(suat, method, path, **params):
    """A raw Graph call: (status, JSON body)."""
    data = urllib.parse.urlencode(params)
    url = f"{suat.graph_url}/{path}"
    req = urllib.request.Request(url + ("?" + data if method == "GET" else ""), method=method,
                                 data=None if method == "GET" else data.encode())
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def proof(token):
    return hmac.new(DEMO["app_secret"].encode(), token.encode(), hashlib.sha256).hexdigest()


def generate(suat):
    status, body = graph(suat, "POST", f"{DEMO['system_user_id']}/applications", business_app=DEMO["app_id"],
                         access_token=DEMO["admin_token"])
    assert status == 200, body
    status, body = graph(suat, "POST", f"{DEMO['system_user_id']}/access_tokens", business_app=DEMO["app_id"],
                         scope="ads_read", set_token_expires_in_60_days="true",
                         appsecret_proof=proof(DEMO["admin_token"]), access_token=DEMO["admin_token"])
    assert status == 200, body
    return body["access_token"]


def debug(suat, token):
    status, body = graph(suat, "GET", "debug_token", input_token=token,
                         access_token=f"{DEMO['app_id']}|{DEMO['app_secret']}")
    assert status == 200, body
    return body["data"]


def test_the_server_is_seeded(suat):
    assert suat.url.startswith("http://127.0.0.1:")
    status, me = graph(suat, "GET", "me", access_token=DEMO["admin_token"])
    assert (status, me) == (200, {"name": "Ada Admin", "id": DEMO["admin_user_id"]})


def test_state_made_by_one_test(suat):
    suat.admin("POST", "businesses", {"name": "Made by one test"})
    suat.advance(3600)


def test_is_gone_in_the_next(suat):
    names = [b["name"] for b in suat.admin("GET", "dump")["businesses"]]
    assert "Made by one test" not in names and "Acme Corp" in names
    assert suat.admin("GET", "clock")["offset"] == 0


def test_the_clock_expires_a_60_day_token(suat):
    token = generate(suat)
    assert debug(suat, token)["is_valid"] is True
    before = suat.now()
    assert suat.advance(61 * 86400) >= before + 61 * 86400
    data = debug(suat, token)
    assert data["is_valid"] is False and data["error"]["subcode"] == 463


def test_a_fault_lasts_for_its_block(suat):
    with suat.fault(method="GET", path="/me", times=1, error={"code": 2, "is_transient": True}) as rule:
        assert rule["remaining"] == 1
        status, body = graph(suat, "GET", "me", access_token=DEMO["admin_token"])
        assert body["error"]["code"] == 2 and body["error"]["is_transient"] is True and status >= 500
        assert graph(suat, "GET", "me", access_token=DEMO["admin_token"])[0] == 200
    assert suat.faults() == []


def test_an_app_rate_limit_refuses_with_code_4(suat):
    suat.set_app_rate_limit(DEMO["app_id"], 2)
    for _ in range(2):
        assert graph(suat, "GET", "me", access_token=DEMO["admin_token"])[0] == 200
    status, body = graph(suat, "GET", "me", access_token=DEMO["admin_token"])
    assert (status, body["error"]["code"]) == (403, 4)
    assert any(w["kind"] == "app" and w["calls"] == 2 for w in suat.usage()["windows"])


def test_the_rate_limit_is_gone_after_reset(suat):
    for _ in range(3):
        assert graph(suat, "GET", "me", access_token=DEMO["admin_token"])[0] == 200


def test_facebook_business_is_pointed_here(suat_facebook_business):
    from facebook_business.adobjects.user import User
    from facebook_business.api import FacebookAdsApi

    api = FacebookAdsApi.init(DEMO["app_id"], DEMO["app_secret"], DEMO["admin_token"], api_version="v25.0",
                              crash_log=False)
    su = User(fbid=DEMO["system_user_id"], api=api)
    su.create_application(params={"business_app": DEMO["app_id"]})
    created = su.create_access_token(params={"business_app": DEMO["app_id"], "scope": ["ads_read"]})
    assert debug(suat_facebook_business, created["access_token"])["type"] == "SYSTEM_USER"


def test_facebook_sdk_is_pointed_here(suat_facebook_sdk):
    import facebook

    assert facebook.GraphAPI(access_token=DEMO["admin_token"], version="3.1").get_object("me")["name"] == "Ada Admin"


def test_the_patches_undo(suat):
    import facebook
    from facebook_business.session import FacebookSession

    graph_before, sdk_before = FacebookSession.GRAPH, facebook.FACEBOOK_GRAPH_URL
    assert "graph.facebook.com" in graph_before and "graph.facebook.com" in sdk_before
    undo_business, undo_sdk = suat.patch_facebook_business(), suat.patch_facebook_sdk()
    assert (FacebookSession.GRAPH, facebook.FACEBOOK_GRAPH_URL) == (suat.url, suat.url + "/")
    undo_business()
    undo_sdk()
    assert (FacebookSession.GRAPH, facebook.FACEBOOK_GRAPH_URL) == (graph_before, sdk_before)


def test_a_missing_binary_says_what_to_do(tmp_path):
    with pytest.raises(SuatError, match="does not exist"):
        Suat.start(binary=str(tmp_path / "nope"))


def test_a_bad_seed_is_reported_in_the_servers_words(tmp_path, pytestconfig):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[businesses]]\nname = 12\n")
    with pytest.raises(SuatError, match="before listening") as e:
        Suat.start(binary=pytestconfig.getoption("suat_bin"), seed=bad)
    assert "suat serve:" in str(e.value), e.value


def test_the_options_reach_the_fixture(pytester, pytestconfig):
    pytester.makepyfile("""
        def test_empty(suat):
            assert suat.admin("GET", "dump")["businesses"] == []
    """)
    args = ["--suat-seed", "none", "-p", "no:cacheprovider"]
    if pytestconfig.getoption("suat_bin"):
        args += ["--suat-bin", pytestconfig.getoption("suat_bin")]
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=1)
