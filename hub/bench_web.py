"""`hub bench web`: many staff using the web app at once while a run goes on.

Real HTTP sessions against a real `hub serve` process on 127.0.0.1: each simulated worker logs
in, then searches, opens one of their residents and saves a changed phone number, thinking
between actions. Meanwhile `hub run` runs again and again on the same district (the bundled
sample), so the server shares the machine with the pipeline as it does in a district. At the
end one more run takes everything in, and every submission the server acknowledged must be
in the store and loaded into core.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import duckdb
import httpx

from hub.bench import hub_command
from hub.form.status import DATASET as FORM_DATASET
from hub.form.submissions import read_all
from hub.publish.snapshot import dataset_sql
from hub.settings import Settings
from hub.web.accounts import add_staff

ACTIONS = ("search", "open", "save")


@dataclass
class _Tally:
    """What the workers saw, shared between their threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    seconds: dict[str, list[float]] = field(default_factory=lambda: {a: [] for a in ACTIONS})
    errors: dict[str, int] = field(default_factory=lambda: {a: 0 for a in ACTIONS})
    samples: list[str] = field(default_factory=list)  # a few error texts, to say what failed
    acknowledged: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (person, phone)
    unchanged: int = 0

    def took(self, action: str, seconds: float, ok: bool, why: str = "") -> None:
        with self.lock:
            self.seconds[action].append(seconds)
            if not ok:
                self.errors[action] += 1
                if len(self.samples) < 5:
                    self.samples.append(f"{action}: {why}"[:300])


class _FormReader(HTMLParser):
    """The values a browser would post from the resident page (disabled selects post their
    hidden twin; readonly inputs post as they are)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("name"):
            self.values[a["name"]] = a.get("value", "")
        elif tag == "select" and a.get("name"):
            self._select = None if "disabled" in a else a["name"]
            if self._select:
                self.values.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def form_values(page: str) -> dict[str, str]:
    reader = _FormReader()
    reader.feed(page)
    return reader.values


def percentiles(xs: list[float]) -> dict[str, float | None]:
    if not xs:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}
    s = sorted(xs)

    def at(p: float) -> float:
        return round(s[min(len(s) - 1, int(p * len(s)))], 3)

    return {"n": len(s), "p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(s[-1], 3)}


def run_web_bench(
    schemas: Path,
    users: int,
    seconds: float,
    think: float,
    seed: int = 7,
    workdir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    say = progress or (lambda _m: None)
    root = Path(tempfile.mkdtemp(prefix="hub-bench-web-")) if workdir is None else workdir
    data = root / "data"
    env = {**os.environ, "HUB_DATA": str(data), "HUB_SCHEMAS": str(schemas.resolve())}
    server: subprocess.Popen[bytes] | None = None
    try:
        say("准备样例区县并运行第一次归集…")
        hub_command(["sample", "--seed", str(seed)], env)
        hub_command(["run", "--json"], env)
        s = Settings(schemas=schemas.resolve(), data=data)
        accounts = _accounts(s, users, seed)
        port = _free_port()
        server = subprocess.Popen(  # noqa: S603 - our own interpreter and command
            [sys.executable, "-m", "hub", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}"
        _wait_up(base, server)
        say(
            f"{users} 位工作人员同时使用 {seconds:.0f} 秒（每步思考约 {think:.0f} 秒），其间反复运行 hub run…"
        )
        tally, health = _Tally(), []
        deadline = time.monotonic() + seconds
        runs = _RunLoop(env, deadline)
        runs.start()
        rng = random.Random(seed)
        threads = [
            threading.Thread(
                target=_worker,
                args=(base, user, pw, people, think, deadline, tally, random.Random(rng.random())),
                daemon=True,
            )
            for user, pw, people in accounts
        ]
        for t in threads:
            t.start()
        while time.monotonic() < deadline:
            health.append(_timed_get(base + "/healthz"))
            time.sleep(1)
        for t in threads:
            t.join(timeout=think * 2 + 120)
        runs.join()
        _stop(server)
        server = None
        say("最后一次归集，核对每一次确认过的提交…")
        final = json.loads(hub_command(["run", "--json"], env))
        return _report(s, users, seconds, think, tally, health, runs, final)
    finally:
        if server is not None:
            _stop(server)
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)


def _accounts(s: Settings, users: int, seed: int) -> list[tuple[str, str, list[str]]]:
    """`users` staff accounts over the communities, each with residents no other one edits."""
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT community_code, person_id FROM ({dataset_sql(s.published, 'person')}) "
            "WHERE community_code IS NOT NULL ORDER BY community_code, person_id"
        ).fetchall()
    by_community: dict[str, list[str]] = {}
    for community, pid in rows:
        by_community.setdefault(community, []).append(pid)
    communities = sorted(by_community)
    out = []
    for i in range(users):
        community = communities[i % len(communities)]
        peers = len(range(i % len(communities), users, len(communities)))
        share = by_community[community][i // len(communities) :: peers]
        password = secrets.token_urlsafe(12)
        add_staff(s.users, f"bench{i:03d}", community, password, f"测试{i}")
        out.append((f"bench{i:03d}", password, share))
    random.Random(seed).shuffle(out)
    return out


def _worker(
    base: str,
    user: str,
    password: str,
    people: list[str],
    think: float,
    deadline: float,
    tally: _Tally,
    rng: random.Random,
) -> None:
    with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as client:
        r = client.post("/login", data={"username": user, "password": password})
        if r.status_code not in (200, 303):
            tally.took("search", 0.0, False, f"登录失败 {r.status_code}")
            return
        time.sleep(rng.uniform(0, think))  # the staff do not all start at the same second
        while time.monotonic() < deadline and people:
            pid = rng.choice(people)
            t, action = time.perf_counter(), "search"
            try:
                r = client.get("/", params={"q": ""})
                tally.took("search", time.perf_counter() - t, r.status_code == 200, r.text[:200])
                time.sleep(rng.uniform(0.5, 1.5) * think)
                t, action = time.perf_counter(), "open"
                page = client.get(f"/residents/{pid}")
                tally.took(
                    "open", time.perf_counter() - t, page.status_code == 200, page.text[:200]
                )
                if page.status_code != 200:
                    continue
                time.sleep(rng.uniform(0.5, 1.5) * think)
                phone = f"139{rng.randrange(10**8):08d}"
                values = form_values(page.text) | {"phone": phone}
                t, action = time.perf_counter(), "save"
                r = client.post(f"/residents/{pid}", data=values)
                took = time.perf_counter() - t
                if r.status_code == 303:
                    key = parse_qs(urlsplit(r.headers["location"]).query).get("saved", [""])[0]
                    with tally.lock:
                        tally.acknowledged[key] = (pid, phone)
                    tally.took("save", took, True)
                elif r.status_code == 200 and "没有修改" in r.text:
                    with tally.lock:
                        tally.unchanged += 1
                    tally.took("save", took, True)
                else:
                    tally.took("save", took, False, f"{r.status_code} {r.text[:200]}")
                time.sleep(rng.uniform(0.5, 1.5) * think)
            except httpx.HTTPError as exc:
                tally.took(action, time.perf_counter() - t, False, repr(exc))


class _RunLoop(threading.Thread):
    """`hub run` again and again until the deadline, as a district's data team might."""

    def __init__(self, env: dict[str, str], deadline: float) -> None:
        super().__init__(daemon=True)
        self.env, self.deadline = env, deadline
        self.seconds: list[float] = []
        self.failed = 0

    def run(self) -> None:
        while time.monotonic() < self.deadline:
            t = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "hub", "run", "--json"],
                env=self.env,
                capture_output=True,
                check=False,
            )
            self.seconds.append(round(time.perf_counter() - t, 1))
            self.failed += proc.returncode not in (0, 1)


def _report(
    s: Settings,
    users: int,
    seconds: float,
    think: float,
    tally: _Tally,
    health: list[float],
    runs: _RunLoop,
    final: dict[str, Any],
) -> dict[str, Any]:
    stored = {sub.id for sub in read_all(s.submissions)}
    acked = tally.acknowledged
    with duckdb.connect() as con:
        status = dict(
            con.execute(
                f"SELECT submission_id, status FROM ({dataset_sql(s.published, FORM_DATASET)})"
            ).fetchall()
        )
        phones = dict(
            con.execute(
                f"SELECT person_id, phone FROM ({dataset_sql(s.published, 'person')})"
            ).fetchall()
        )
    last: dict[str, str] = {}
    for _key, (pid, phone) in acked.items():  # dicts keep insertion order: the newest last
        last[pid] = phone
    return {
        "users": users,
        "seconds": seconds,
        "think_s": think,
        "actions": {a: percentiles(tally.seconds[a]) for a in ACTIONS},
        "healthz": percentiles(health),
        "errors": sum(tally.errors.values()),
        "errors_by_action": tally.errors,
        "error_samples": tally.samples,
        "saves_unchanged": tally.unchanged,
        "submissions_acknowledged": len(acked),
        "submissions_stored": len(set(acked) & stored),
        "submissions_in_core": sum(status.get(k) == "loaded" for k in acked),
        "residents_edited": len(last),
        "residents_showing_last_save": sum(phones.get(p) == v for p, v in last.items()),
        "runs_during": len(runs.seconds),
        "run_seconds": runs.seconds,
        "runs_failed": runs.failed,
        "final_run_published": final.get("published") is not None,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_up(base: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if server.poll() is not None:
            err = server.stderr.read().decode("utf-8", "replace") if server.stderr else ""
            raise RuntimeError(f"hub serve 未能启动：{err[-2000:]}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("hub serve 30 秒内没有响应")


def _timed_get(url: str) -> float:
    t = time.perf_counter()
    try:
        httpx.get(url, timeout=30)
    except httpx.HTTPError:
        return 30.0
    return time.perf_counter() - t


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
