"""Services a run starts on this machine — a redis-server on 127.0.0.1, Celery workers — and how
they are waited for and stopped: by their own process id (each in a session of its own, so
what it started stops with it), in bounded time."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def redis_server() -> str | None:
    found = shutil.which("redis-server")
    return found or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def redis(root: Path) -> Iterator[str]:
    """A redis-server of its own on 127.0.0.1 (no persistence, its log in `root`): its URL."""
    server = redis_server()
    if server is None:
        raise RuntimeError("缺少 redis-server：请安装 Debian 的 redis-server 包（make redis）")
    port = free_port()
    log = root / "redis.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - Debian's redis-server, fixed arguments
            [
                server,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(log, "Ready to accept connections", proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(proc)


def wait_for(log: Path, text: str, proc: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{log.stem} 启动失败：{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.3)
    raise RuntimeError(f"{log.stem} 在 {seconds:.0f} 秒内没有就绪")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a service and what it started (its own session), by its process id."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
