"""Great Expectations in a process of its own, judging suites while the run goes on.

GX is pure Python: importing it costs ~2.5 s of CPU and validating a district's suites a few
more. On a thread of the run it held the GIL against every Python step of loading, linking
and publishing (a district's 200k-resident run lost ~5 s to it); in its own process it only
takes the core DuckDB leaves idle. The run hands each batch over as a Parquet file of the
rows to re-judge (`SuiteInput.sql`) and one JSON line naming it; the process answers one JSON
line per batch on a pipe of its own (GX's own printing goes to a log file).

Started before loading, so the import overlaps it. Stopped by its process id when the run
ends or fails; if the run is killed, the process sees its input close and exits.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any, cast

import duckdb

from hub.validate.expectations import Expectation
from hub.validate.gx_session import GxSession, SuiteInput
from hub.warehouse import lit

_LOG = "gx.log"


class GxProcess:
    """The run's side: submit batches, then collect every answer in `results()`."""

    def __init__(self, gx_root: Path, scratch_parent: Path) -> None:
        """Start the process. The caller holds the run lock: a `gx-` folder already under
        `scratch_parent` was left by a killed run, and goes."""
        scratch_parent.mkdir(parents=True, exist_ok=True)
        for left in scratch_parent.glob("gx-*"):
            shutil.rmtree(left, ignore_errors=True)
        self._dir = Path(tempfile.mkdtemp(prefix="gx-", dir=scratch_parent))
        self._log = (self._dir / _LOG).open("wb")
        self._jobs: list[SuiteInput] = []
        self._answers: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._files = 0
        self.seconds = 0.0
        # the child imports this very copy of the hub, wherever the run found it
        home = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(p for p in (home, os.environ.get("PYTHONPATH", "")) if p)
        self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "hub.validate.gx_process", str(gx_root)],
            env={**os.environ, "PYTHONPATH": path},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        self._stdin = cast(IO[bytes], self._proc.stdin)
        self._stdout = cast(IO[bytes], self._proc.stdout)
        self._reader = threading.Thread(target=self._read, name="gx-answers", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def submit(self, con: duckdb.DuckDBPyConnection, job: SuiteInput) -> None:
        """Write the batch's rows to Parquet (DuckDB, off the GIL) and hand them over. Safe
        from several threads: answers come in the order the lines go out, as `_jobs` is."""
        with self._lock:
            path = self._dir / f"{self._files:05d}.parquet"
            self._files += 1
        con.execute(f"COPY ({job.sql}) TO {lit(str(path))} (FORMAT parquet)")
        line = {
            "source": job.source,
            "path": str(path),
            "exps": [{k: v for k, v in asdict(e).items() if k != "inputs"} for e in job.exps],
        }
        with self._lock:
            self._jobs.append(job)
            with contextlib.suppress(BrokenPipeError):  # the process died; results() says why
                self._stdin.write(json.dumps(line, ensure_ascii=False).encode() + b"\n")
                self._stdin.flush()

    def results(self) -> list[tuple[SuiteInput, list[dict[str, Any]]]]:
        """Wait for an answer to every submitted batch; raises if GX failed."""
        if not self._jobs:  # nothing to judge: close() stops it, import and all
            return []
        with contextlib.suppress(BrokenPipeError):
            self._stdin.close()
        self._reader.join()
        code = self._proc.wait()
        for answer in self._answers:
            if "error" in answer:
                raise RuntimeError(f"数据质量期望（Great Expectations）校验失败：{answer['error']}")
        if code != 0 or len(self._answers) != len(self._jobs):
            raise RuntimeError(
                f"数据质量期望（Great Expectations）进程异常退出（退出码 {code}，"
                f"{len(self._answers)}/{len(self._jobs)} 批已完成）：{self._log_tail()}"
            )
        self.seconds = sum(float(a["seconds"]) for a in self._answers)
        return [(job, a["results"]) for job, a in zip(self._jobs, self._answers, strict=True)]

    def close(self) -> None:
        """Stop the process (if still running) and remove its files; safe to call twice."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        for pipe in (self._stdin, self._stdout):
            with contextlib.suppress(OSError):
                pipe.close()
        self._log.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> GxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self) -> None:
        for raw in self._stdout:
            try:
                self._answers.append(json.loads(raw))
            except ValueError:  # not ours; the count check in results() reports the loss
                continue

    def _log_tail(self) -> str:
        self._log.flush()
        text = (self._dir / _LOG).read_bytes()[-2000:].decode("utf-8", "replace").strip()
        return text or "无输出"


def _serve(gx_root: Path, answers: IO[str]) -> None:
    # the ~2 s import, done while the run loads; the collector would walk its hundreds of
    # thousands of new objects over and over (a sixth of the import), then at every later
    # full collection: none during the import, and what it made is frozen out of collection
    gc.disable()
    if hasattr(os, "nice"):
        # validation only has to be done by publishing: the run's own stages come first
        # on a busy core, and the answers are still ready before publishing asks
        os.nice(19)
    import great_expectations  # noqa: F401

    gc.freeze()
    gc.enable()

    session: GxSession | None = None
    for raw in sys.stdin.buffer:
        t = time.perf_counter()
        job = json.loads(raw)
        try:
            session = session or GxSession(gx_root)
            exps = [Expectation(**e) for e in job["exps"]]
            df = duckdb.read_parquet(job["path"]).df()
            out: dict[str, Any] = {"results": session.validate(df, job["source"], exps)}
        except Exception as exc:  # one batch's failure is reported, the others still judged
            out = {"error": f"{job['source']}：{type(exc).__name__}: {exc}"}
        out["seconds"] = round(time.perf_counter() - t, 3)
        answers.write(json.dumps(out, ensure_ascii=False) + "\n")
        answers.flush()


def main() -> None:
    # answers go on the original stdout; anything GX prints lands in the log (stderr)
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    _serve(Path(sys.argv[1]), answers)


if __name__ == "__main__":
    main()
