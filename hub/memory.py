"""Resident memory sampled while a run works: the peak of each stage.

`ru_maxrss` only grows, so it cannot tell which stage reached it; a thread reading
/proc/self/statm every few milliseconds can.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

_STATM = Path("/proc/self/statm")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_mb() -> float:
    """This process's resident memory now (0 where /proc is absent)."""
    try:
        return int(_STATM.read_text().split()[1]) * _PAGE / 2**20
    except (OSError, IndexError, ValueError):
        return 0.0


class RssSampler:
    """Samples RSS on a daemon thread; `stage(name)` names what the samples belong to."""

    def __init__(self, every_s: float = 0.02) -> None:
        self.peaks: dict[str, float] = {}
        self._stage = "start"
        self._every = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def stage(self, name: str) -> None:
        self._sample()
        self._stage = name
        self._sample()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        self._sample()
        return {k: round(v, 1) for k, v in self.peaks.items()}

    def _sample(self) -> None:
        value = rss_mb()
        if value > self.peaks.get(self._stage, 0.0):
            self.peaks[self._stage] = value

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self._sample()
