"""Run a suat server for tests and drive its control plane (`/_suat/*`) from Python.

`Suat.start()` runs `suat serve` on a free port with a throwaway store, keys made for this run and a seed, and
returns once the server has said where it listens (no polling, no sleeping). The pytest fixtures in
`pytest_suat.plugin` wrap it; this module is usable without pytest too.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

__all__ = ["Suat", "SuatError", "DEMO", "DEFAULT_SEED", "find_binary"]

#: The seed bundled with the plugin (the repository's examples/seed.toml): fixed ids, secret and tokens.
DEFAULT_SEED = Path(__file__).with_name("seed.toml")

#: What DEFAULT_SEED creates, for tests to use by name.
DEMO = {
    "business_id": "1001",
    "app_id": "2001",
    "app_secret": "acme-demo-secret-0123456789abcdef",
    "admin_user_id": "3001",
    "admin_password": "correct horse battery",
    "admin_token": "EAAdemoAdminUserToken0123456789abcdefghijklmnop",
    "system_user_id": "4001",
    "page_id": "5001",
}

_LISTENING = re.compile(r"suat listening on (http://\S+)")


class SuatError(RuntimeError):
    """suat could not be started, or a control-plane call failed (the message says which, and why)."""


def find_binary(explicit: Optional[str] = None) -> str:
    """The `suat` binary: `explicit`, else $SUAT_BIN, else `suat` on PATH."""
    candidate = explicit or os.environ.get("SUAT_BIN")
    if candidate:
        if not (os.path.isfile(candidate) and os.access(candidate, os.X_OK)):
            raise SuatError(f"suat binary {candidate!r} does not exist or is not executable")
        return candidate
    found = shutil.which("suat")
    if not found:
        raise SuatError(
            "no `suat` on PATH: install it (`cargo install --path crates/suat-cli` in the suat repository, or put a "
            "release binary on PATH), or name it with --suat-bin / SUAT_BIN"
        )
    return found


class Suat:
    """A running `suat serve`, and its control plane.

    `url` is the Graph base URL (`http://127.0.0.1:PORT`); Graph calls go to `url + "/v25.0/..."`.
    """

    def __init__(self, url: str, admin_key: str, process: Optional[subprocess.Popen] = None,
                 workdir: Optional[str] = None, api_version: str = "v25.0"):
        self.url = url
        self.admin_key = admin_key
        self.api_version = api_version
        self._process = process
        self._workdir = workdir
        self._stderr: list[str] = []

    # -- life cycle -------------------------------------------------------------------------------------------

    @classmethod
    def start(cls, binary: Optional[str] = None, seed: Optional[os.PathLike | str] = DEFAULT_SEED,
              extra_args: tuple[str, ...] = ()) -> "Suat":
        """Starts `suat serve --listen 127.0.0.1:0 --db :memory:` in a private temporary directory with fresh keys.

        `seed=None` starts with no objects. Raises SuatError with the server's own words if it exits instead."""
        exe = find_binary(binary)
        workdir = tempfile.mkdtemp(prefix="pytest-suat-")
        admin_key = secrets.token_hex(32)
        env = dict(os.environ)
        env.update({
            "SUAT_MASTER_KEY": secrets.token_hex(32),
            "SUAT_ADMIN_KEY": admin_key,
            # Request lines would only fill the pipe; warnings and the listening line still come through.
            "RUST_LOG": "warn",
        })
        for var in ("SUAT_DATABASE_URL", "SUAT_LISTEN", "SUAT_DB", "SUAT_PUBLIC_URL", "SUAT_KEY_FILE",
                    "SUAT_ADMIN_KEY_FILE"):
            env.pop(var, None)
        args = [exe, "serve", "--listen", "127.0.0.1:0", "--db", ":memory:"]
        if seed is not None:
            args += ["--seed", str(Path(seed).resolve())]
        args += list(extra_args)
        proc = subprocess.Popen(args, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        lines: list[str] = []
        url = None
        assert proc.stderr is not None
        # Blocks until the server says where it listens, or exits (EOF): either way no guessing about timing.
        for line in proc.stderr:
            lines.append(line)
            m = _LISTENING.search(line)
            if m:
                url = m.group(1)
                break
        if url is None:
            proc.wait()
            shutil.rmtree(workdir, ignore_errors=True)
            raise SuatError(f"`{' '.join(args)}` exited with status {proc.returncode} before listening:\n"
                            + "".join(lines))
        server = cls(url, admin_key, proc, workdir)
        server._stderr = lines
        # Keep draining stderr so the server never blocks on a full pipe; kept for failure messages.
        threading.Thread(target=server._drain, daemon=True).start()
        return server

    def _drain(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        for line in self._process.stderr:
            self._stderr.append(line)

    @property
    def logs(self) -> str:
        """What the server wrote on stderr so far."""
        return "".join(self._stderr)

    def stop(self) -> None:
        """Stops the server (SIGTERM, then waits) and removes its directory."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> "Suat":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- control plane ---------------------------------------------------------------------------------------

    @property
    def graph_url(self) -> str:
        """`url` with the API version: `http://127.0.0.1:PORT/v25.0`."""
        return f"{self.url}/{self.api_version}"

    def admin(self, method: str, path: str, body: Optional[dict] = None) -> Any:
        """One control-plane call (`path` under /_suat/), its JSON answer; a Graph error raises SuatError."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}/_suat/{path.lstrip('/')}", data=data, method=method,
                                     headers={"Authorization": f"Bearer {self.admin_key}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                text = r.read().decode()
        except urllib.error.HTTPError as e:
            raise SuatError(f"{method} {self.url}/_suat/{path.lstrip('/')}: HTTP {e.code}: {e.read().decode()}") from None
        except urllib.error.URLError as e:
            raise SuatError(f"{method} {self.url}/_suat/{path.lstrip('/')}: {e.reason} (is the server running?)"
                            f"\n{self.logs}") from None
        return json.loads(text) if text else None

    def reset(self, to: Optional[str] = None) -> Any:
        """Back to the seeded state (`to="empty"`: no objects): clock offset 0, no faults, no rate-limit counts."""
        return self.admin("POST", "reset", {} if to is None else {"to": to})

    def now(self) -> int:
        """The server clock (unix seconds), the one every expiry rule reads."""
        return self.admin("GET", "clock")["now"]

    def advance(self, seconds: int) -> int:
        """Moves the server clock forward (e.g. `60 * 86400` to expire a 60-day token); returns the new now."""
        return self.admin("POST", "clock", {"advance": seconds})["now"]

    def set_clock(self, unix_seconds: int) -> int:
        return self.admin("POST", "clock", {"set": unix_seconds})["now"]

    def add_fault(self, **rule: Any) -> dict:
        """Adds a fault rule (README "Faults"): e.g. `add_fault(path="/me", times=1, error={"code": 2})`."""
        return self.admin("POST", "faults", rule)

    def faults(self) -> list:
        """The fault rules, with their `hits` and `remaining`."""
        return self.admin("GET", "faults")["data"]

    def remove_fault(self, rule_id: Any) -> Any:
        return self.admin("DELETE", f"faults/{rule_id}")

    @contextlib.contextmanager
    def fault(self, **rule: Any) -> Iterator[dict]:
        """A fault rule that lasts for a `with` block."""
        added = self.add_fault(**rule)
        try:
            yield added
        finally:
            self.remove_fault(added["id"])

    def set_app_rate_limit(self, app_id: str, calls_per_hour: int) -> Any:
        return self.admin("POST", f"apps/{app_id}", {"rate_limit": calls_per_hour})

    def set_user_rate_limit(self, app_id: str, calls_per_hour: int) -> Any:
        return self.admin("POST", f"apps/{app_id}", {"user_rate_limit": calls_per_hour})

    def set_business_rate_limit(self, business_id: str, calls_per_hour: int) -> Any:
        return self.admin("POST", f"businesses/{business_id}", {"rate_limit": calls_per_hour})

    def usage(self) -> dict:
        """Quotas in force and every live rate-limit window."""
        return self.admin("GET", "usage")

    def requests(self, **filters: Any) -> list:
        """The request journal, newest first (filters: path, app_id, status, limit)."""
        query = "&".join(f"{k}={urllib.request.quote(str(v))}" for k, v in filters.items())
        return self.admin("GET", "requests" + (f"?{query}" if query else ""))["data"]

    # -- pointing Meta's SDKs at this server ---------------------------------------------------------------

    def patch_facebook_business(self) -> Callable[[], None]:
        """Points facebook-business (FacebookAdsApi) at this server through its documented host attribute,
        `FacebookSession.GRAPH`; returns a function that undoes it. Pass `api_version="v25.0"` (or any) to init."""
        from facebook_business.session import FacebookSession

        before = FacebookSession.GRAPH
        FacebookSession.GRAPH = self.url

        def undo() -> None:
            FacebookSession.GRAPH = before

        return undo

    def patch_facebook_sdk(self) -> Callable[[], None]:
        """Points facebook-sdk (`facebook.GraphAPI`) at this server through `facebook.FACEBOOK_GRAPH_URL` (with the
        trailing slash the SDK expects); returns a function that undoes it."""
        import facebook

        before = facebook.FACEBOOK_GRAPH_URL
        facebook.FACEBOOK_GRAPH_URL = self.url + "/"

        def undo() -> None:
            facebook.FACEBOOK_GRAPH_URL = before

        return undo
