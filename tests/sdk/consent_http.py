"""What a person's browser does on suat's consent page, over plain HTTP: fetch the dialog, sign in, tick every
permission box the page ticks, press Allow, and return the URL the dialog redirects to as the app's server receives
it: without its fragment (`#_=_`), which a browser never sends. Test harness, not a client under test."""
import html
import re

import requests


def consent(dialog_url, user_id, password):
    page = requests.get(dialog_url, timeout=30)
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
    r = requests.post(base + action, data=fields, allow_redirects=False, timeout=30)
    assert r.status_code == 302, (r.status_code, r.text[:500])
    return r.headers["location"].split("#", 1)[0]
