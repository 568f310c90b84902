"""Hostile clients for bench/hostile.sh (stdlib only).

  python3 hostile.py signin URL APP_ID REDIRECT N   -> N concurrent wrong sign-ins on the consent page; prints counts
  python3 hostile.py idle HOST PORT N               -> opens N idle connections, prints "ready", holds them until stdin closes
"""
import http.client, random, re, resource, socket, sys, threading, urllib.parse
from collections import Counter


def signin(url, app, redirect, n):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port)
    q = urllib.parse.urlencode({"client_id": app, "redirect_uri": redirect, "scope": "email"})
    c.request("GET", f"/v25.0/dialog/oauth?{q}")
    r = c.getresponse()
    page = r.read().decode()
    cookie = r.getheader("set-cookie").split(";")[0]
    form = page.split("<form ")[1].split("</form>")[0]
    fields = []
    for tag in re.findall(r"<input ([^>]*)>", form):
        kind = re.search(r'type="([^"]*)"', tag)
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if kind and kind.group(1) == "hidden" and name:
            fields.append((name.group(1), value.group(1).replace("&amp;", "&") if value else ""))
    origin = f"{u.scheme}://{u.netloc}"
    statuses = Counter()
    start = threading.Barrier(n)

    def one(i):
        body = urllib.parse.urlencode(fields + [("user", str(900000000 + i)), ("password", "wrong"), ("action", "allow")])
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        start.wait()
        conn.request("POST", "/v25.0/dialog/oauth/confirm", body,
                     {"content-type": "application/x-www-form-urlencoded", "cookie": cookie, "origin": origin})
        resp = conn.getresponse()
        resp.read()
        statuses[resp.status] += 1

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(" ".join(f"{k}x{v}" for k, v in sorted(statuses.items())))


def idle(host, port, n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n + 256)), hard))
    socks = [socket.create_connection((host, port)) for _ in range(n)]
    print("ready", flush=True)
    sys.stdin.read()
    open_ = 0
    for s in socks:
        s.setblocking(False)
        try:
            open_ += s.recv(1) != b""
        except BlockingIOError:
            open_ += 1
        except OSError:
            pass
    print(f"{open_} of {n} idle connections still open", file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1] == "signin":
        signin(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        idle(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
