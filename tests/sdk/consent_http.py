"""What a person's browser does on suat's consent page, over plain HTTP: fetch the dialog, sign in, tick every
permission box the page ticks, press Allow, and return the URL the dialog redirects to as the app's server receives
it: without its fragment (`#_=_`), which a browser never sends. Like a browser, it keeps the cookie the page sets
(one session) and sends the page's Origin with the form. Test harness, not a client under test."""
import html
import re

import requests


def consent(dialog_url, user_id, password):
    browser = requests.Session()
    page = browser.get(dialog_url, timeout=30)
    page.raise_for_status()
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', page.text, re.S)
    action, inner = html.unescape(form.group(1)), form.group(2)
    fields = []
    for tag in re.findall(r"<input [^>]*>", inner):
        attrs = {k: html.unescape(v) for k, v in re.findall(r'(\w+)="([^"]*)"', tag)}
        if attrs.get("type") == "hidden" or (attrs.get("type") == "checkbox" and " checked" in tag):
            fields.append((attrs["name"], attrs.get("value", "")))
    fields += [("user", user_id), ("password", password), ("action", "allow")]
    base = re.match(r"https?://[^/]+", dialog_url).group(0)
    r = browser.post(base + action, data=fields, headers={"Origin": base}, allow_redirects=False, timeout=30)
    assert r.status_code == 302, (r.status_code, r.text[:500])
    return r.headers["location"].split("#", 1)[0]
