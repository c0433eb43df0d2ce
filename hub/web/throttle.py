"""Slow down password guessing: after too many wrong passwords for one account, or from one
address, login is refused for a while (counted in this server process)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

WINDOW = 15 * 60  # failures counted over 15 minutes
PER_ACCOUNT = 5
PER_ADDRESS = 20


class Throttle:
    def __init__(self, per_account: int = PER_ACCOUNT, per_address: int = PER_ADDRESS) -> None:
        self.limits = {"account": per_account, "address": per_address}
        self._fails: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def wait(self, account: str, address: str, now: float | None = None) -> int:
        """Seconds until this account / address may try again (0: now)."""
        now = now or time.time()
        with self._lock:
            waits = [
                self._wait(("account", account), now),
                self._wait(("address", address), now),
            ]
        return max(waits)

    def failed(self, account: str, address: str, now: float | None = None) -> None:
        now = now or time.time()
        with self._lock:
            for key in (("account", account), ("address", address)):
                self._fails[key].append(now)

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._fails.pop(("account", account), None)

    def _wait(self, key: tuple[str, str], now: float) -> int:
        fails = self._fails.get(key)
        if not fails:
            return 0
        while fails and fails[0] < now - WINDOW:
            fails.popleft()
        if len(fails) < self.limits[key[0]]:
            return 0
        return int(fails[0] + WINDOW - now) + 1
