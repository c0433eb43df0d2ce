"""Signed session cookies and CSRF tokens, keyed by this installation's secret, with logout
that ends the session on the server too.

The cookie holds the user name, when it was issued and a random session id, with an HMAC
over all three: a cookie edited by hand fails the signature. Logging out records the session
id as revoked (an append-only file, `data/sessions_revoked.jsonl`, read back when it changes),
so a copied cookie stops working at logout, not 12 hours later.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from pathlib import Path

from hub.jsonl import append_line, read_lines

MAX_AGE = 12 * 3600  # one working day


class Signer:
    def __init__(self, secret: str, revoked: Path | None = None) -> None:
        self.key = hashlib.sha256(f"web-session|{secret}".encode()).digest()
        self.revoked = Revocations(revoked) if revoked else None

    def _mac(self, text: str) -> str:
        return hmac.new(self.key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def issue(self, username: str, now: float | None = None) -> str:
        body = f"{username}|{int(now or time.time())}|{secrets.token_hex(16)}"
        return f"{body}|{self._mac(body)}"

    def user(self, cookie: str | None, now: float | None = None) -> str | None:
        """The user name of a valid, unexpired, not logged-out cookie, else None."""
        if not cookie or cookie.count("|") != 3:
            return None
        username, issued, sid, mac = cookie.split("|")
        if not hmac.compare_digest(mac, self._mac(f"{username}|{issued}|{sid}")):
            return None
        if not issued.isdigit() or (now or time.time()) - int(issued) > MAX_AGE:
            return None
        if self.revoked is not None and self.revoked.contains(sid):
            return None
        return username

    def revoke(self, cookie: str | None) -> None:
        """End the session of `cookie` (if it is a genuine one) on the server."""
        if self.revoked is not None and self.user(cookie) is not None and cookie:
            self.revoked.add(cookie.split("|")[2])

    def csrf(self, cookie: str) -> str:
        """A token bound to the session: a page from another site cannot know it."""
        return self._mac(f"csrf|{cookie}")[:32]

    def csrf_ok(self, cookie: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf(cookie), token or "")


class Revocations:
    """Session ids ended by logout; reloaded when another process (a second worker) adds one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._ids: set[str] = set()

    def add(self, sid: str) -> None:
        append_line(self.path, {"sid": sid, "at": int(time.time())})

    def contains(self, sid: str) -> bool:
        with self._lock:
            try:
                st = self.path.stat()
            except FileNotFoundError:
                return False
            stamp = (st.st_mtime_ns, st.st_size)
            if stamp != self._seen:
                cutoff = time.time() - MAX_AGE  # older sessions have expired anyway
                self._ids = {d["sid"] for d in read_lines(self.path) if d.get("at", 0) >= cutoff}
                self._seen = stamp
            return sid in self._ids
