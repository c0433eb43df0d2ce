"""Great Expectations judged in a process of its own: answers, failures, and the process's end."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import duckdb
import pytest

from hub.validate.expectations import Expectation
from hub.validate.gx_process import GxProcess
from hub.validate.gx_session import SuiteInput

ROWS = "SELECT * FROM (VALUES ('a'), (NULL), ('c')) t(x)"


def _job(kind: str = "ExpectColumnValuesToNotBeNull", source: str = "demo") -> SuiteInput:
    exp = Expectation(kind, {"column": "x"}, "x_required", "warning")
    return SuiteInput(source, f"{source}-1", [exp], ROWS, 3)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie not yet reaped still answers; its state says it has ended
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_answers_every_batch_and_leaves_nothing_behind(tmp_path: Path):
    left = tmp_path / "spill" / "gx-killed-run"  # a killed run's batches
    left.mkdir(parents=True)
    (left / "00000.parquet").write_bytes(b"x")
    con = duckdb.connect()
    with GxProcess(tmp_path / "data", tmp_path / "spill") as gx:
        gx.submit(con, _job(source="one"))
        gx.submit(con, _job(source="two"))
        done = gx.results()
        pid = gx.pid
    assert [(job.source, res) for job, res in done] == [
        (s, [{"success": False, "unexpected_count": 1, "element_count": 3}]) for s in ("one", "two")
    ]
    assert gx.seconds > 0
    assert not _alive(pid)
    assert list((tmp_path / "spill").iterdir()) == []  # the batches' Parquet files are gone
    assert (tmp_path / "data" / "gx" / "expectations" / "staged" / "one.json").exists()


def test_a_failing_suite_is_reported_in_chinese_and_the_others_still_judged(tmp_path: Path):
    con = duckdb.connect()
    with GxProcess(tmp_path / "data", tmp_path / "spill") as gx:
        gx.submit(con, _job("ExpectNoSuchThing", source="bad"))
        with pytest.raises(RuntimeError, match=r"数据质量期望.*校验失败：bad"):
            gx.results()
        assert not _alive(gx.pid)


def test_a_killed_process_fails_the_run_instead_of_losing_its_verdicts(tmp_path: Path):
    con = duckdb.connect()
    gx = GxProcess(tmp_path / "data", tmp_path / "spill")
    try:
        gx.submit(con, _job())
        os.kill(gx.pid, signal.SIGKILL)
        with pytest.raises(RuntimeError, match=r"进程异常退出（退出码 -9，0/1 批已完成）"):
            gx.results()
    finally:
        gx.close()
        gx.close()  # twice is safe
    assert not _alive(gx.pid)


def test_a_run_with_nothing_to_judge_does_not_wait_for_the_import(tmp_path: Path):
    gx = GxProcess(tmp_path / "data", tmp_path / "spill")
    assert gx.results() == []
    gx.close()
    assert not _alive(gx.pid)
    assert not (tmp_path / "data" / "gx").exists()  # no context was opened
