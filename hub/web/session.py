"""Signed session cookies and CSRF tokens, keyed by this installation's secret.

The cookie holds the user name and when it was issued, with an HMAC over both; nothing on
the server needs to remember sessions, and a cookie edited by hand fails the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import time

MAX_AGE = 12 * 3600  # one working day


class Signer:
    def __init__(self, secret: str) -> None:
        self.key = hashlib.sha256(f"web-session|{secret}".encode()).digest()

    def _mac(self, text: str) -> str:
        return hmac.new(self.key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def issue(self, username: str, now: float | None = None) -> str:
        body = f"{username}|{int(now or time.time())}"
        return f"{body}|{self._mac(body)}"

    def user(self, cookie: str | None, now: float | None = None) -> str | None:
        """The user name of a valid, unexpired cookie, else None."""
        if not cookie or cookie.count("|") != 2:
            return None
        username, issued, mac = cookie.split("|")
        if not hmac.compare_digest(mac, self._mac(f"{username}|{issued}")):
            return None
        if not issued.isdigit() or (now or time.time()) - int(issued) > MAX_AGE:
            return None
        return username

    def csrf(self, cookie: str) -> str:
        """A token bound to the session: a page from another site cannot know it."""
        return self._mac(f"csrf|{cookie}")[:32]

    def csrf_ok(self, cookie: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf(cookie), token or "")
