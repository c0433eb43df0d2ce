"""`hub city worker`: this machine becomes a Celery worker of the city's Dagster runs.

It serves the queues of the districts whose files it holds (their steps come only to it) and
the shared queue (the city step), one task at a time, held to the threads and memory given
(HUB_THREADS / HUB_MEMORY_MB for the steps it runs). The worker is Celery's own process: this
only puts its command line together."""

from __future__ import annotations

import os
import socket
import sys

from hub.city.districts import district_codes, queue_of
from hub.resources import machine_memory_mb
from hub.settings import Settings

SHARED_QUEUE = "dagster"  # dagster-celery's default queue: steps pinned to no district


class WorkerError(ValueError):
    """The worker cannot start as asked (the message is Chinese)."""


def worker_command(
    settings: Settings,
    broker: str,
    districts: list[str],
    threads: int | None = None,
    memory_mb: int | None = None,
    name: str = "",
) -> tuple[list[str], dict[str, str]]:
    """The celery command line and environment of a worker for `districts` (all if empty)."""
    have = district_codes(settings)
    if not have:
        raise WorkerError("本部署没有区县（schemas/districts/<代码>/），无需工作机")
    unknown = [d for d in districts if d not in have]
    if unknown:
        raise WorkerError(f"没有区县 {'、'.join(unknown)}：本部署的区县为 {'、'.join(have)}")
    if not broker.startswith(("redis://", "rediss://", "amqp://", "pyamqp://")):
        raise WorkerError(f"消息代理地址应形如 redis://主机:6379/0，收到 {broker!r}")
    queues = [SHARED_QUEUE, *(queue_of(d) for d in (districts or have))]
    env = {
        **os.environ,
        "HUB_SCHEMAS": str(settings.schemas),
        "HUB_DATA": str(settings.data),
        "HUB_CELERY_BROKER": broker,
    }
    if threads:
        env["HUB_THREADS"] = str(threads)
        # the city step runs after all district steps, alone: every core of the machine
        env.setdefault("HUB_CITY_THREADS", str(os.cpu_count() or threads))
    if memory_mb:
        env["HUB_MEMORY_MB"] = str(memory_mb)
        env.setdefault("HUB_CITY_MEMORY_MB", str(max(memory_mb, machine_memory_mb() // 5)))
    label = name or f"hub-{'-'.join(districts) or 'all'}"
    command = [
        sys.executable, "-m", "celery", "-A", "pipelines.celery_app", "worker",
        "-Q", ",".join(queues), "--concurrency", "1", "--prefetch-multiplier", "1",
        "-n", f"{label}@{socket.gethostname()}", "--loglevel", "INFO",
    ]  # fmt: skip
    return command, env
